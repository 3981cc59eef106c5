// Zoo URL helpers. MMAction2 publishes checkpoints under download.openmmlab.com with names that
// carry a date and the first 8 hex digits of the file's sha256; air-gapped users mirror those
// files into one flat folder and point `$I3D_ZOO_URL` at it.

const ZOO_HOST = "download.openmmlab.com";

/** The last path segment of a URL, decoded; "" when the path ends in a slash. */
export function fileNameFromUrl(url: string): string {
  const path = new URL(url).pathname;
  const last = path.slice(path.lastIndexOf("/") + 1);
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/**
 * With `$I3D_ZOO_URL` set, `https://download.openmmlab.com/…/<fileName>` becomes
 * `<I3D_ZOO_URL>/<fileName>`; any other URL (and every URL when the variable is unset) is
 * returned unchanged.
 */
export function mirrorUrl(url: string, env: Record<string, string | undefined> = process.env): string {
  const mirror = env.I3D_ZOO_URL?.trim();
  if (!mirror) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.hostname !== ZOO_HOST) return url;
  const name = parsed.pathname.slice(parsed.pathname.lastIndexOf("/") + 1);
  if (!name) return url;
  return `${mirror.replace(/\/+$/, "")}/${name}`;
}

/** `…_YYYYMMDD-<8 hex>.pth` -> the 8 hex digits (lower case: the start of the sha256), else undefined. */
export function sha256PrefixFromName(fileName: string): string | undefined {
  const m = /_\d{8}-([0-9a-fA-F]{8})\.pth$/.exec(fileName);
  return m ? m[1].toLowerCase() : undefined;
}
