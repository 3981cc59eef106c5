// Assembles a WebAssembly module: function types, one imported memory (shared for threads),
// functions and their exports. Only the sections the kernels need: type, import, function,
// export, code.

import { name, sized, unsignedLeb } from "./encoding.ts";
import { ByteWriter, type FunctionBuilder } from "./function-builder.ts";
import { ValType, type ValTypeName } from "./opcodes.ts";

export interface MemoryImport {
  module: string;
  field: string;
  /** pages of 64 KiB */
  minPages: number;
  maxPages: number;
  shared: boolean;
}

export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeBytes: number[][] = [];
  private readonly functions: { type: number; body: FunctionBuilder; exportName?: string }[] = [];

  constructor(private readonly memory: MemoryImport) {}

  private typeIndex(params: ValTypeName[], results: ValTypeName[]): number {
    const key = `${params.join(",")}->${results.join(",")}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      i = this.types.length;
      this.types.push(key);
      this.typeBytes.push([
        0x60,
        ...unsignedLeb(params.length), ...params.map((p) => ValType[p]),
        ...unsignedLeb(results.length), ...results.map((r) => ValType[r]),
      ]);
    }
    return i;
  }

  /** adds a function, exported under `exportName` when given; returns its index */
  add(body: FunctionBuilder, exportName?: string): number {
    this.functions.push({ type: this.typeIndex(body.params, body.results), body, exportName });
    return this.functions.length - 1;
  }

  toBytes(): Uint8Array<ArrayBuffer> {
    const out = new ByteWriter();
    out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, content: number[]) => {
      out.byte(id);
      out.bytes(sized(content));
    };
    section(1, [...unsignedLeb(this.typeBytes.length), ...this.typeBytes.flat()]);
    const m = this.memory;
    const limits = m.shared ? [0x03, ...unsignedLeb(m.minPages), ...unsignedLeb(m.maxPages)]
      : [0x01, ...unsignedLeb(m.minPages), ...unsignedLeb(m.maxPages)];
    section(2, [...unsignedLeb(1), ...name(m.module), ...name(m.field), 0x02, ...limits]);
    section(3, [...unsignedLeb(this.functions.length), ...this.functions.flatMap((f) => unsignedLeb(f.type))]);
    const exported = this.functions.map((f, i) => [f.exportName, i] as const).filter(([n]) => n !== undefined);
    section(7, [
      ...unsignedLeb(exported.length),
      ...exported.flatMap(([n, i]) => [...name(n!), 0x00, ...unsignedLeb(i)]),
    ]);
    // the code section can be large: write it without building an intermediate number[]
    const bodies = this.functions.map((f) => f.body.encode());
    const content = new ByteWriter();
    content.bytes(unsignedLeb(bodies.length));
    for (const b of bodies) content.bytes(b);
    const code = content.toBytes();
    out.byte(10);
    out.bytes(unsignedLeb(code.length));
    out.bytes(code);
    return out.toBytes();
  }
}
