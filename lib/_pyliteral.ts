// The small subset of Python literal syntax that `.npy` headers use, read without `eval`:
// dicts with string keys, tuples, lists, strings, integers, True/False/None. It accepts what
// `ast.literal_eval` accepts in the headers real tools write (either quote, any whitespace,
// trailing commas, comments, Python 2 `L` suffixes) and stops with a precise error otherwise.

/** A Python tuple, kept apart from a list because NumPy tells the two apart. */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** What a literal evaluates to. Dicts keep their keys in source order. */
export type PyValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | PyTuple
  | PyValue[]
  | PyDict;
/** A Python dict with string keys. */
export type PyDict = Map<string, PyValue>;

/** Raised by {@link parsePyLiteral}; the caller turns it into a typed error with context. */
export class PyLiteralError extends Error {
  constructor(message: string, readonly index: number) {
    super(message);
  }
}

// Deep nesting is never needed (records nest a few levels) and would overflow the stack.
const MAX_DEPTH = 64;

const SIMPLE_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\n": "",
};

/**
 * Parses `text` as one Python literal followed only by whitespace and comments.
 * Throws {@link PyLiteralError} with the character index of the first problem.
 */
export function parsePyLiteral(text: string): PyValue {
  let i = 0;

  function fail(message: string, at = i): never {
    throw new PyLiteralError(message, at);
  }

  function describeHere(): string {
    if (i >= text.length) return "the end of the text";
    return JSON.stringify(text.slice(i, i + 12));
  }

  function skipSpace(): void {
    while (i < text.length) {
      const c = text[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v") {
        i++;
      } else if (c === "\\" && text[i + 1] === "\n") {
        i += 2;
      } else if (c === "#") {
        while (i < text.length && text[i] !== "\n") i++;
      } else {
        return;
      }
    }
  }

  function parseValue(depth: number): PyValue {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
    skipSpace();
    const c = text[i];
    if (c === "{") return parseDict(depth);
    if (c === "(") return parseSequence(depth, ")");
    if (c === "[") return parseSequence(depth, "]");
    if (c === "'" || c === '"') return parseString();
    if ((c === "u" || c === "U") && (text[i + 1] === "'" || text[i + 1] === '"')) {
      i++;
      return parseString();
    }
    if (c === "-" || c === "+" || (c !== undefined && c >= "0" && c <= "9")) return parseInt();
    for (const [word, value] of [["True", true], ["False", false], ["None", null]] as const) {
      if (text.startsWith(word, i) && !/[\w]/.test(text[i + word.length] ?? "")) {
        i += word.length;
        return value;
      }
    }
    return fail(`expected a value, found ${describeHere()}`);
  }

  function parseDict(depth: number): PyDict {
    const dict: PyDict = new Map();
    i++; // {
    for (;;) {
      skipSpace();
      if (text[i] === "}") {
        i++;
        return dict;
      }
      const keyAt = i;
      const key = parseValue(depth + 1);
      if (typeof key !== "string") fail("expected a string dict key", keyAt);
      if (dict.has(key)) fail(`duplicate key '${key}'`, keyAt);
      skipSpace();
      if (text[i] !== ":") fail(`expected ':' after key '${key}', found ${describeHere()}`);
      i++;
      dict.set(key, parseValue(depth + 1));
      skipSpace();
      if (text[i] === ",") i++;
      else if (text[i] !== "}") fail(`expected ',' or '}' in dict, found ${describeHere()}`);
    }
  }

  function parseSequence(depth: number, close: ")" | "]"): PyTuple | PyValue[] {
    const items: PyValue[] = [];
    let sawComma = false;
    i++; // ( or [
    for (;;) {
      skipSpace();
      if (text[i] === close) {
        i++;
        break;
      }
      items.push(parseValue(depth + 1));
      skipSpace();
      if (text[i] === ",") {
        i++;
        sawComma = true;
      } else if (text[i] !== close) {
        fail(`expected ',' or '${close}', found ${describeHere()}`);
      }
    }
    if (close === "]") return items;
    // `(x)` is just x in Python; `(x,)` and `()` are tuples.
    if (items.length === 1 && !sawComma) return items[0] as PyTuple;
    return new PyTuple(items);
  }

  // A number when it is exact as one; a bigint beyond 2^53 - 1 (a dimension of an empty
  // array may be that large). The digits are bounded by the header size.
  function parseInt(): number | bigint {
    const start = i;
    let sign = 1n;
    while (text[i] === "-" || text[i] === "+") {
      if (text[i] === "-") sign = -sign;
      i++;
      skipSpace();
    }
    const digitsAt = i;
    while (i < text.length && /[0-9_]/.test(text.charAt(i))) i++;
    const raw = text.slice(digitsAt, i);
    if (!/^(?:0(?:_?0)*|[1-9](?:_?[0-9])*)$/.test(raw)) {
      fail(`expected an integer, found ${JSON.stringify(text.slice(start, i + 1))}`, start);
    }
    if (/[.eEjJxXoObB]/.test(text[i] ?? "")) {
      fail(`expected a decimal integer, found ${describeHere()}`, start);
    }
    if (text[i] === "L" || text[i] === "l") i++; // Python 2 long suffix
    const value = sign * BigInt(raw.replaceAll("_", ""));
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
      return value;
    }
    return Number(value);
  }

  function parseString(): string {
    const quote = text[i];
    const start = i;
    i++;
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string", start);
      const c = text[i];
      if (c === quote) {
        i++;
        return out;
      }
      if (c === "\n") fail("newline inside a string", i);
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      if (e === undefined) fail("unterminated string", start);
      if (e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
        i += 2;
      } else if (e >= "0" && e <= "7") {
        const m = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))![0];
        out += String.fromCodePoint(parseInt8(m));
        i += 1 + m.length;
      } else if (e === "x" || e === "u" || e === "U") {
        const n = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = text.slice(i + 2, i + 2 + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) fail(`bad \\${e} escape in string`, i);
        const code = Number.parseInt(hex, 16);
        if (code > 0x10ffff) fail(`bad \\${e} escape in string`, i);
        out += String.fromCodePoint(code);
        i += 2 + n;
      } else {
        // Python keeps unknown escapes as they are, backslash included.
        out += "\\";
        i++;
      }
    }
  }

  const value = parseValue(0);
  skipSpace();
  if (i < text.length) fail(`unexpected ${describeHere()} after the value`);
  return value;
}

function parseInt8(digits: string): number {
  return Number.parseInt(digits, 8);
}

// Python's str.isprintable(): everything but categories Cc Cf Cs Co Cn Zl Zp Zs, space aside.
const NOT_PRINTABLE = /[\p{C}\p{Zl}\p{Zp}\p{Zs}]/u;

/** `repr(s)` as Python 3 writes it: quote choice, escapes and all. */
export function pyReprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch !== " " && NOT_PRINTABLE.test(ch)) {
      const code = ch.codePointAt(0)!;
      out += code < 0x100
        ? "\\x" + code.toString(16).padStart(2, "0")
        : code < 0x10000
        ? "\\u" + code.toString(16).padStart(4, "0")
        : "\\U" + code.toString(16).padStart(8, "0");
    } else out += ch;
  }
  return out + quote;
}

/** `repr(tuple_of_ints)`: `()`, `(5,)`, `(3, 4)`. */
export function pyReprIntTuple(values: readonly (number | bigint | string)[]): string {
  if (values.length === 1) return `(${values[0]},)`;
  return `(${values.join(", ")})`;
}
