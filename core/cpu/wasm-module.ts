// A minimal WebAssembly binary writer (WebAssembly Core Specification 1.0, "Binary Format"):
// enough for the region compiler's modules, which import one memory and a few functions and
// define i32 functions. Code is written as byte arrays; the opcodes below name what it uses.

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;

/** Opcodes (the single-byte ones the compiler emits). */
export const op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8u: 0x2d,
  i32Load16u: 0x2f,
  f32Load: 0x2a,
  f64Load: 0x2b,
  f64Store: 0x39,
  i32Store: 0x36,
  i64Store: 0x37,
  i64Load: 0x29,
  i32Store8: 0x3a,
  i32Const: 0x41,
  i64Const: 0x42,
  f64Const: 0x44,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32GtU: 0x4b,
  i32LeS: 0x4c,
  i32LeU: 0x4d,
  i32GeS: 0x4e,
  i32GeU: 0x4f,
  i64Eqz: 0x50,
  i64Eq: 0x51,
  i64Ne: 0x52,
  i64LtS: 0x53,
  i64LtU: 0x54,
  i64GeS: 0x59,
  i64GeU: 0x5a,
  i64GtU: 0x56,
  f64Eq: 0x61,
  f64Ne: 0x62,
  f64Lt: 0x63,
  f64Gt: 0x64,
  f64Le: 0x65,
  f64Ge: 0x66,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i64Clz: 0x79,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64DivU: 0x80,
  i64And: 0x83,
  i64Or: 0x84,
  i64Shl: 0x86,
  i64ShrU: 0x88,
  f64Abs: 0x99,
  f64Neg: 0x9a,
  f64Add: 0xa0,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  f64Div: 0xa3,
  i32WrapI64: 0xa7,
  i64ExtendI32s: 0xac,
  i64ExtendI32u: 0xad,
  f64ConvertI32s: 0xb7,
  f64PromoteF32: 0xbb,
  i64ReinterpretF64: 0xbd,
} as const;

/** Block type of a block, loop or if without a result. */
export const VOID = 0x40;

export function uleb(n: number): number[] {
  const out: number[] = [];
  n >>>= 0;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** The 8 little-endian bytes of a float64 immediate. */
export function f64Bytes(v: number): number[] {
  return [...new Uint8Array(new Float64Array([v]).buffer)];
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A function type: parameter and result value types. */
export interface FuncType {
  params: number[];
  results: number[];
}

export interface ModuleSpec {
  /** Imported functions, in index order (they come before the module's own functions). */
  imports: { name: string; type: FuncType }[];
  /** The memory imported as env.memory (its minimum size in 64 KiB pages, and whether shared). */
  memory: { pages: number; shared: boolean };
  /** The module's functions: their types, extra locals (value types) and bodies (without the final end). */
  funcs: { type: FuncType; locals: number[]; body: number[] }[];
  /** Function exported as `run` (an index over imports and funcs together). */
  exportRun: number;
}

/** A byte vector: a count, then the items. */
function vec(out: number[], items: number[][]): void {
  out.push(...uleb(items.length));
  for (const item of items) append(out, item);
}

/** Appends bytes one by one (a spread of a large body would overflow the call stack). */
function append(out: number[], bytes: number[]): void {
  for (let k = 0; k < bytes.length; k++) out.push(bytes[k]!);
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id, ...uleb(body.length));
  append(out, body);
}

const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];

/** The binary module for `spec`. */
export function encodeModule(spec: ModuleSpec): Uint8Array {
  const types: FuncType[] = [];
  const typeIndex = (t: FuncType): number => {
    const k = types.findIndex((u) => u.params.join() === t.params.join() && u.results.join() === t.results.join());
    return k >= 0 ? k : types.push(t) - 1;
  };
  const importEntries = spec.imports.map((im) => [...name('env'), ...name(im.name), 0x00, ...uleb(typeIndex(im.type))]);
  const m = spec.memory;
  importEntries.push([
    ...name('env'),
    ...name('memory'),
    0x02,
    m.shared ? 0x03 : 0x00,
    ...uleb(m.pages),
    ...(m.shared ? uleb(65536) : []),
  ]);
  const funcTypes = spec.funcs.map((f) => uleb(typeIndex(f.type)));
  const code: number[] = [];
  code.push(...uleb(spec.funcs.length));
  for (const f of spec.funcs) {
    const groups: number[][] = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[1] === t) last[0]!++;
      else groups.push([1, t]);
    }
    const head: number[] = [];
    vec(
      head,
      groups.map(([n, t]) => [...uleb(n!), t!]),
    );
    code.push(...uleb(head.length + f.body.length + 1));
    append(code, head);
    append(code, f.body);
    code.push(op.end);
  }
  const typeEntries = types.map((t) => {
    const e = [0x60];
    vec(
      e,
      t.params.map((p) => [p]),
    );
    vec(
      e,
      t.results.map((r) => [r]),
    );
    return e;
  });
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const body = (build: (b: number[]) => void): number[] => {
    const b: number[] = [];
    build(b);
    return b;
  };
  section(
    out,
    1,
    body((b) => vec(b, typeEntries)),
  );
  section(
    out,
    2,
    body((b) => vec(b, importEntries)),
  );
  section(
    out,
    3,
    body((b) => vec(b, funcTypes)),
  );
  section(
    out,
    7,
    body((b) => vec(b, [[...name('run'), 0x00, ...uleb(spec.exportRun)]])),
  );
  section(out, 10, code);
  return new Uint8Array(out);
}

// The WebAssembly JavaScript API, typed for what this project uses (the ES library types the
// core compiles with leave it out).

/** A WebAssembly.Memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
/** A compiled WebAssembly.Module. */
export type WasmModule = object;
interface WasmApi {
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (
    module: WasmModule,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
}
/** The WebAssembly API of this runtime, or null when it has none. */
export const wasmApi: WasmApi | null = (globalThis as { WebAssembly?: WasmApi }).WebAssembly ?? null;
