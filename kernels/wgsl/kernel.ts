// What every WGSL kernel generator in this folder is: a small record that turns a key (only
// what changes the shader text) into WGSL source, plus the uniform struct and storage bindings
// that source declares, so the plan builder can fill them for one dispatch. Shapes that vary
// between dispatches travel as uniforms; one compiled pipeline serves all of them.

export type UniformType = "u32" | "i32" | "f32";

export interface UniformField {
  name: string;
  type: UniformType;
}

/** A storage binding of the shader: binding i of group 0 is bindings[i]; uniforms come last. */
export interface StorageBinding {
  /** role name the plan builder binds a buffer window to, e.g. "x", "w", "y" */
  role: string;
  /** WGSL element type of the runtime-sized array */
  element: "f32" | "vec4<f32>" | "f16" | "vec4<f16>" | "u32";
  /**
   * read-only bindings may only point at buffers no writable binding aliases (the weights, the
   * input-normalisation table): see WebGPU's buffer aliasing rules
   */
  access: "read" | "read_write";
}

export interface WgslKernel<Key> {
  /** family name, the first part of every shader id */
  readonly name: string;
  uniforms(key: Key): readonly UniformField[];
  bindings(key: Key): readonly StorageBinding[];
  source(key: Key): string;
}

/** Stable id of one shader: family name + the key's fields in declaration order. */
export function shaderId<Key>(kernel: WgslKernel<Key>, key: Key): string {
  return `${kernel.name}${JSON.stringify(key)}`;
}

/** WGSL declarations of the bindings and the uniform struct (`u`). */
export function bindingDecls(bindings: readonly StorageBinding[], uniforms: readonly UniformField[]): string {
  const lines = bindings.map((b, i) =>
    `@group(0) @binding(${i}) var<storage, ${b.access}> ${b.role}: array<${b.element}>;`
  );
  const fields = uniforms.length > 0 ? uniforms : [{ name: "unused", type: "u32" as const }];
  lines.push(`struct Uniforms {\n${fields.map((f) => `  ${f.name}: ${f.type},`).join("\n")}\n}`);
  lines.push(`@group(0) @binding(${bindings.length}) var<uniform> u: Uniforms;`);
  return lines.join("\n");
}

/** Bytes the uniform struct occupies (scalars of 4 bytes; struct size rounds up to 16). */
export function uniformBytes(fields: readonly UniformField[]): number {
  return Math.ceil(Math.max(fields.length, 1) / 4) * 16;
}

/**
 * Packs uniform values into 32-bit words in field order (floats bit-cast), so a plan stores
 * them as plain JSON numbers and the runtime copies them without knowing the struct.
 */
export function packUniforms(fields: readonly UniformField[], values: Record<string, number>): number[] {
  const buf = new ArrayBuffer(uniformBytes(fields));
  const u32 = new Uint32Array(buf), i32 = new Int32Array(buf), f32 = new Float32Array(buf);
  fields.forEach((f, i) => {
    const v = values[f.name];
    if (v === undefined || !Number.isFinite(v)) throw new Error(`uniform ${f.name} has no finite value`);
    if (f.type === "f32") f32[i] = v;
    else if (f.type === "i32") {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new Error(`uniform ${f.name} = ${v} is not an i32`);
      i32[i] = v;
    } else {
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) throw new Error(`uniform ${f.name} = ${v} is not a u32`);
      u32[i] = v;
    }
  });
  for (const name of Object.keys(values)) {
    if (!fields.some((f) => f.name === name)) throw new Error(`uniform ${name} is not a field of the shader`);
  }
  return [...u32];
}

/** `const NAME = 3u;` lines for values folded into the source. */
export function constDecls(values: Record<string, number>, type: "u32" | "i32" = "u32"): string {
  return Object.entries(values).map(([k, v]) => `const ${k}: ${type} = ${v}${type === "u32" ? "u" : "i"};`).join("\n");
}
