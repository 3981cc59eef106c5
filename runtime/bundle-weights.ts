// Weights for a bundle built without them: a checkpoint's state_dict bound by the manifest's
// keys and turned into the constants the plans read (BatchNorm folded). Needs no graph and no
// compiler passes: the manifest carries the recipe. `constantsFromStateDict` has no Node
// dependency (the --esm bundle uses it in browsers with safetensors bytes).

import type { BundleManifest } from "../compiler/bundle/bundle-format.ts";
import { materializeConstants } from "../compiler/materialize-constants.ts";
import { bindCheckpoint } from "../models/checkpoint/bind.ts";
import type { Checkpoint } from "../models/checkpoint/pth-reader.ts";

export function constantsFromStateDict(
  manifest: BundleManifest, checkpoint: Pick<Checkpoint, "stateDict">, options: { strict?: boolean; source?: string } = {},
): Map<string, Float32Array> {
  const params = Object.fromEntries(
    Object.entries(manifest.params).map(([k, shape]) => [k, { shape, kind: "parameter" as const }]),
  );
  const { weights } = bindCheckpoint({ params, ignoredKeys: manifest.ignoredKeys }, checkpoint, {
    strict: options.strict ?? true,
    source: options.source,
  });
  return materializeConstants({ constants: manifest.constants } as Parameters<typeof materializeConstants>[0], weights);
}

export async function bundleConstants(manifest: BundleManifest, checkpointPath: string): Promise<Map<string, Float32Array>> {
  const { readCheckpoint } = await import("../models/checkpoint/pth-reader.ts");
  return constantsFromStateDict(manifest, await readCheckpoint(checkpointPath), { source: checkpointPath });
}
