// The PyTorch CPU peer of `i3d bench --vs-pytorch`: bench/torch_peer.py run by Debian's
// /usr/bin/python3 (torch 1.13) as a line-based JSON server, so timings of both sides come from
// the same run on the same machine. A dev/bench tool only: nothing at run time needs Python.

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface, type Interface } from "node:readline";

export interface LayerShape {
  cin: number;
  cout: number;
  t: number;
  h: number;
  w: number;
  kernel: number[];
  stride: number[];
  padding: number[];
}

const SCRIPT = fileURLToPath(new URL("../../bench/torch_peer.py", import.meta.url));

export class TorchPeer {
  private constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly lines: Interface) {}

  /** undefined when that python has no torch */
  static async start(python: string): Promise<TorchPeer | undefined> {
    const child = spawn(python, [SCRIPT], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const peer = new TorchPeer(child, createInterface({ input: child.stdout }));
    try {
      await peer.request({ cmd: "ping" });
      return peer;
    } catch {
      child.kill();
      if (/No module named 'torch'/.test(stderr)) return undefined;
      throw new Error(`the PyTorch peer failed to start: ${stderr.trim().split("\n").pop()}`);
    }
  }

  private request(req: Record<string, unknown>): Promise<Record<string, number>> {
    return new Promise((resolve, reject) => {
      const onLine = (line: string) => {
        this.lines.off("line", onLine);
        this.child.off("exit", onExit);
        const reply = JSON.parse(line);
        if (reply.error) reject(new Error(reply.error));
        else resolve(reply);
      };
      const onExit = () => {
        this.lines.off("line", onLine);
        reject(new Error("the PyTorch peer exited"));
      };
      this.lines.on("line", onLine);
      this.child.once("exit", onExit);
      this.child.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }

  setup(o: { threads: number; batch: number; layers: LayerShape[]; model: { size: number; frames: number; dict?: object } | null }) {
    return this.request({ cmd: "setup", ...o });
  }

  /** seconds for one batch through the whole model, per PyTorch configuration */
  model(): Promise<Record<string, number>> {
    return this.request({ cmd: "model" });
  }

  /** seconds for one batch through conv layer i, per PyTorch configuration */
  layer(i: number): Promise<Record<string, number>> {
    return this.request({ cmd: "layer", index: i });
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
