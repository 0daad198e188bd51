/**
 * Internal: a minimal pickle encoder for the `info` file of a Dask npy stack. It writes
 * exactly the types that file holds (dict with str keys, tuple, list, str, int) as
 * protocol-2 opcodes, which every Python 3 `pickle.load` reads. No memo, no globals: the
 * stream builds plain containers only. It never reads pickles.
 *
 * @module
 */

/** A Python tuple (a JS array encodes as a list). */
export class PickleTuple {
  /** The tuple's items. */
  readonly items: readonly PickleValue[];
  constructor(items: readonly PickleValue[]) {
    this.items = items;
  }
}

/** What {@link encodePickle} can write: `Map` is a dict (insertion order kept). */
export type PickleValue =
  | string
  | number
  | bigint
  | readonly PickleValue[]
  | PickleTuple
  | ReadonlyMap<string, PickleValue>;

// Protocol-2 opcodes (CPython Lib/pickle.py).
const PROTO = 0x80;
const STOP = 0x2e; // .
const MARK = 0x28; // (
const EMPTY_DICT = 0x7d; // }
const SETITEMS = 0x75; // u
const EMPTY_LIST = 0x5d; // ]
const APPENDS = 0x65; // e
const EMPTY_TUPLE = 0x29; // )
const TUPLE = 0x74; // t
const TUPLE1 = 0x85;
const TUPLE2 = 0x86;
const TUPLE3 = 0x87;
const BININT = 0x4a; // J: 4-byte signed little-endian
const LONG1 = 0x8a; // 1-byte length, then little-endian two's complement
const BINUNICODE = 0x58; // X: 4-byte length, then utf-8

/**
 * The pickle (protocol 2) of `value`.
 * @throws {TypeError} For a value of another type, or a number that is not an integer.
 */
export function encodePickle(value: PickleValue): Uint8Array {
  const out: number[] = [PROTO, 2];
  write(value, out);
  out.push(STOP);
  return Uint8Array.from(out);
}

function write(value: PickleValue, out: number[]): void {
  if (typeof value === "string") {
    const bytes = new TextEncoder().encode(value);
    out.push(BINUNICODE, ...uint32(bytes.length));
    for (const b of bytes) out.push(b);
  } else if (typeof value === "number" || typeof value === "bigint") {
    writeInt(value, out);
  } else if (value instanceof PickleTuple) {
    const items = value.items;
    if (items.length === 0) {
      out.push(EMPTY_TUPLE);
      return;
    }
    // One to three items have an opcode of their own; more are MARK, the items, TUPLE.
    const sized = [TUPLE1, TUPLE2, TUPLE3][items.length - 1];
    if (sized === undefined) out.push(MARK);
    for (const item of items) write(item, out);
    out.push(sized ?? TUPLE);
  } else if (value instanceof Map) {
    out.push(EMPTY_DICT);
    if (value.size === 0) return;
    out.push(MARK);
    for (const [k, v] of value) {
      if (typeof k !== "string") throw new TypeError(`Cannot pickle a dict key ${typeof k}`);
      write(k, out);
      write(v, out);
    }
    out.push(SETITEMS);
  } else if (Array.isArray(value)) {
    out.push(EMPTY_LIST);
    if (value.length === 0) return;
    out.push(MARK);
    for (const item of value) write(item, out);
    out.push(APPENDS);
  } else {
    throw new TypeError(`Cannot pickle a value of type ${typeof value}`);
  }
}

function writeInt(value: number | bigint, out: number[]): void {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new TypeError(`Cannot pickle ${value}: only integers are supported`);
  }
  let n = BigInt(value);
  if (n >= -(2n ** 31n) && n < 2n ** 31n) {
    out.push(BININT, ...uint32(Number(BigInt.asUintN(32, n))));
    return;
  }
  // LONG1: the shortest little-endian two's complement that keeps the sign.
  const bytes: number[] = [];
  for (;;) {
    const byte = Number(n & 0xffn);
    bytes.push(byte);
    n >>= 8n;
    if ((n === 0n && (byte & 0x80) === 0) || (n === -1n && (byte & 0x80) !== 0)) break;
  }
  out.push(LONG1, bytes.length, ...bytes);
}

function uint32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
