// @ffmpeg/core ships no types; load-core.ts describes the parts it uses.
declare module "@ffmpeg/core" {
  const createFFmpegCore: (moduleArg: Record<string, unknown>) => Promise<unknown>;
  export default createFFmpegCore;
}
