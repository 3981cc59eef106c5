// Child process of runner.test.ts: two runners, one disposed and one not; the process must
// still end on its own once the event loop is empty (idle workers are unref'd).

import { planMemory } from "../../compiler/passes/plan-memory.ts";
import { createWasmRunner } from "../../runtime/wasm/wasm-runner.ts";
import { randomNormal } from "../helpers/random.ts";
import { ProgramBuilder } from "./program-builder.ts";

const b = new ProgramBuilder({ n: 1, t: 2, h: 4, w: 4, c: 3 });
b.conv("x", 8, [1, 3, 3], { padding: [0, 1, 1] });
const program = b.build();
const input = randomNormal(3 * 2 * 4 * 4, 1);
const a = await createWasmRunner({ program, memoryPlan: planMemory(program), constants: b.values, threads: 2 });
await a.run(input, 1);
await a.dispose();
const c = await createWasmRunner({ program, memoryPlan: planMemory(program), constants: b.values, threads: 2 });
await c.run(input, 1);
console.log("ran 2 runners");
