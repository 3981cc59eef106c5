// The class names used when no label map is given: Kinetics-400's for a 400-class head, else
// "class i" (a head of another size is not a Kinetics-400 head: name classes by index rather
// than mislabel them). No file access, so browser bundles share it.

import { KINETICS400_LABELS } from "./kinetics400.ts";

export function defaultLabels(numClasses: number): readonly string[] {
  return numClasses === KINETICS400_LABELS.length ? KINETICS400_LABELS : Array.from({ length: numClasses }, (_, i) => `class ${i}`);
}
