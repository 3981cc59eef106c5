// Class names for the output: the built-in Kinetics-400 list, or a user's --label-map file
// (one name per line, line i = class i, as MMAction2's label_map files are).

import { readFile } from "node:fs/promises";
import { I3DError } from "../../models/errors.ts";
import { KINETICS400_LABELS } from "./kinetics400.ts";

export async function loadLabelMap(path: string | undefined, numClasses: number): Promise<readonly string[]> {
  if (path === undefined) {
    if (numClasses !== KINETICS400_LABELS.length) {
      // not a Kinetics-400 head: name classes by index rather than mislabel them
      return Array.from({ length: numClasses }, (_, i) => `class ${i}`);
    }
    return KINETICS400_LABELS;
  }
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new I3DError("io", `cannot read label map ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const labels = text.split(/\r?\n/).map((l) => l.trim());
  while (labels.length > 0 && labels[labels.length - 1] === "") labels.pop();
  if (labels.length !== numClasses) {
    throw new I3DError("input", `label map ${path} has ${labels.length} names but the model has ${numClasses} classes`);
  }
  return labels;
}
