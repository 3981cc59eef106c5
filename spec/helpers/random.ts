// Test data: the runtime's deterministic random numbers and weights (runtime/random-weights.ts).

export { randomNormal, randomWeights, rng } from "../../runtime/random-weights.ts";
