// One-thread-per-item kernels (pooling, reductions, softmax rows) launch ceil(items / size)
// workgroups; past 65535 (the per-dimension limit) the count folds into a 2-D grid and the
// shader rebuilds the linear index from num_workgroups.

export const MAX_WORKGROUPS_PER_DIM = 65535;

export function gridFor(workgroups: number): [number, number, number] {
  if (workgroups <= MAX_WORKGROUPS_PER_DIM) return [Math.max(workgroups, 1), 1, 1];
  const y = Math.ceil(workgroups / MAX_WORKGROUPS_PER_DIM);
  if (y > MAX_WORKGROUPS_PER_DIM) throw new Error(`${workgroups} workgroups do not fit a 2-D grid`);
  return [Math.ceil(workgroups / y), y, 1];
}

/** WGSL: the linear workgroup index of a gridFor() launch. */
export const LINEAR_WORKGROUP = "(wg.y * nwg.x + wg.x)";

export const GRID_BUILTINS =
  "@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32";
