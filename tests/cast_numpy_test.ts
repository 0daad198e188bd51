/**
 * The cast cross-check: every (source descr, target descr, casting rule) over the numeric
 * types (bool, ints, uints, floats with f2, complex; both byte orders), every datetime and
 * timedelta unit plus generic and multiplied units, S/U/V widths, and records (the same
 * fields in another order, renamed, byte-swapped, nested, subarrays). NumPy is the oracle,
 * in ONE python3 call: `can_cast` decides accept or refuse, and `np.copyto(..., "unsafe")`
 * (astype into the target dtype) gives the bytes an accepted cast must produce.
 *
 * Each chunk is raw bytes of the source descr (`{ data: Uint8Array, shape, descr }`), made by
 * NumPy from edge values (NaN, and NaNs of both signs, quiet and signalling, with payloads;
 * −0, ±inf, integer extremes, NaT, values that overflow the target). It goes through
 * `encodeNpy` for every rule, and through the file writer (`appendSync` onto one file per
 * target, each source under one of the rules), where a refused chunk must leave the file
 * unchanged.
 *
 * Skipped, the only results not compared: elements whose value NumPy leaves to the platform
 * under "unsafe". A float (or complex) cast to an integer of NaN, ±inf or a value out of the
 * integer's range, and a float cast to a datetime or timedelta of ±inf or a value out of the
 * int64 range (NaN is NaT there, which NumPy defines): both go through C's float-to-integer
 * conversion, which is undefined for those values (x86-64 gives INT_MIN, arm64 saturates).
 * Deliberate differences, asserted as refusals: datetimes whose value NumPy's cast gets wrong
 * (found against an exact Python computation; where NumPy's own conversion factor overflows,
 * the reason must say so), and the casts listed in deliberatelyRefused().
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Casting,
  defaultRegistry,
  type Descr,
  encodeNpy,
  NpyAppendArray,
  NpyDtypeError,
  parseHeader,
} from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";

const CASTINGS: Casting[] = ["no", "equiv", "safe", "same_kind", "unsafe"];

const NUMERIC: string[] = ["|b1", "|i1", "|u1"];
for (const t of ["i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"]) {
  NUMERIC.push(`<${t}`, `>${t}`);
}
const UNITS = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"];
const TIME: string[] = [];
for (const k of ["M", "m"]) {
  for (const u of UNITS) TIME.push(`<${k}8[${u}]`);
  TIME.push(`<${k}8`, `<${k}8[10us]`, `<${k}8[3s]`, `>${k}8[ns]`, `>${k}8[D]`);
  // Multiplied units NumPy's can_cast calls "no" casts into [s] and [ms] (its metric-prefix
  // shortcut, [2001ms] to [2s] included by its truncating division).
  for (const u of ["1000ms", "1000000us", "2001ms", "2s"]) TIME.push(`<${k}8[${u}]`);
  // Units between which NumPy's own conversion factor overflows 64 bits ([3Y] to [ns],
  // [1000m] to [1000fs], [ns] to [1000Y] …): its astype gives wrong values there.
  for (const u of ["3Y", "1000Y", "1000m", "1000fs"]) TIME.push(`<${k}8[${u}]`);
}
const FLEX = ["|S1", "|S5", "<U1", "<U5", ">U5", "|V1", "|V4", "|V8", "|V16"];
const RECORDS: Descr[] = [
  [["a", "<i4"], ["b", "<f8"]],
  [["b", "<f8"], ["a", "<i4"]],
  [["a", ">i4"], ["b", "<f8"]],
  [["x", "<i2"], ["y", "<f4"]],
  [["a", "<i4"]],
  [["a", "<i4", [2]]],
  [["a", "<f8", [2]]],
  [["p", [["a", "<i4"], ["b", "<f8"]]], ["t", "<M8[s]"]],
  [["p", [["b", "<f8"], ["a", "<i4"]]], ["t", "<M8[ms]"]],
  [["p", [["a", "<i8"], ["b", "<f8"]]], ["t", "<M8[ms]"]],
];
const DESCRS: Descr[] = [...NUMERIC, ...TIME, ...FLEX, ...RECORDS];

interface Oracle {
  /** Per source: the hex of its edge values in that dtype, and how many. */
  sources: { hex: string; n: number }[];
  /** Per (source, target): can_cast under each rule as a 5-char string of 0/1. */
  canCast: string[][];
  /** Per (source, target): the hex of the unsafe cast, or null when NumPy raises. */
  cast: (string | null)[][];
  /** Per (source, target): element indices whose value NumPy leaves undefined. */
  skip: number[][][];
  /**
   * Per "source target" where NumPy's datetime cast wraps some elements (which this library
   * refuses): those elements, and the chunk without them with NumPy's cast of it.
   */
  kept: Record<string, { wrapped: number[]; hex: string; n: number; cast: string }>;
  /** The "source target" pairs where NumPy's conversion factor itself overflows. */
  factorWraps: string[];
}

const ORACLE_PY = String.raw`
import fractions, math, warnings
warnings.simplefilter("ignore")
def to_dtype(d):
    def conv(d):
        if isinstance(d, str):
            return d
        out = []
        for f in d:
            name = tuple(f[0]) if isinstance(f[0], list) else f[0]
            out.append((name, conv(f[1])) + ((tuple(f[2]),) if len(f) > 2 else ()))
        return out
    return np.lib.format.descr_to_dtype(conv(d))

def edge(dt, k=0):
    if dt.names:
        a = np.zeros(4, dt)
        for i, name in enumerate(dt.names):
            sub = a[name]
            vals = edge_small(sub.dtype.base, i)
            sub[...] = vals.reshape((4,) + (1,) * (sub.ndim - 1))
        return a
    kind = dt.kind
    if kind == "b":
        return np.array([False, True, True, False], dt)
    if kind in "iu":
        info = np.iinfo(dt)
        vals = [0, 1, info.max, info.min, info.max - 1, info.min + 1, 42, 100]
        if kind == "i":
            vals += [-1, -100]
        if dt.itemsize == 8:
            # Rounded twice (to float64, then float32) these would land one ulp off.
            vals += [2**60 + 2**36 + 1, 2**63 + 2**39 + 1 if kind == "u" else -(2**60 + 2**36 + 1)]
        return np.array(vals, dtype=object).astype(dt)
    if kind == "f":
        vals = [0.0, -0.0, 1.5, -2.5, np.nan, np.inf, -np.inf, 65504.0, 65520.0, 1e-8,
                2.0**-25, 3.4e38, 1e300, 2.0**31, -2.0**63, 2.0**64, 0.1, 255.5, -128.7,
                16777217.0, 2.0**53 + 1]
        a = np.array(vals, np.float64).astype(dt)
        return np.concatenate([a, nans(dt)]).astype(dt)
    if kind == "c":
        vals = [0, 1.5 + 2j, -2.5 - 0.5j, complex(np.nan, 0), complex(np.inf, -1), 1e300j,
                complex(0.1, 1e-8), complex(-0.0, 0.0), complex(255.5, 7), 1e39 + 0j]
        a = np.array(vals, np.complex128).astype(dt)
        part = nans(np.dtype(dt.byteorder + "f%d" % (dt.itemsize // 2)))
        c = np.zeros(len(part), dt)
        c.real, c.imag = part, part[::-1]
        return np.concatenate([a, c]).astype(dt)
    if kind in "Mm":
        vals = [0, 1, -1, 5, -1001, 2**62, -2**62, 2**63 - 1, -2**63 + 1, 1000000007,
                -86400 * 366, 146097]
        a = np.array(vals, np.int64).view(dt.newbyteorder("=")).astype(dt)
        return np.concatenate([a, np.array(["NaT"], dt)]).astype(dt)
    if kind == "S":
        vals = [b"", b"a", b"abcde", b"\x00x", b"ab\x00"]
        return np.array(vals, "S5").astype(dt)
    if kind == "U":
        vals = ["", "a", "abcde", "\x00x", "ab\x00"]
        return np.array(vals, "U5").astype(dt)
    if kind == "V":
        raw = bytes(range(1, 1 + dt.itemsize * 3))
        return np.frombuffer(raw, dt).copy()
    raise ValueError(dt)

# NaNs of every sign, quiet and signalling, with payloads: a cast must keep what NumPy keeps.
NAN_BITS = {
    2: [0x7E00, 0xFE00, 0x7C01, 0xFC01, 0x7FFF, 0x7D55, 0xFE01],
    4: [0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0x7FC12345, 0x7F812345,
        0xFF802000],
    8: [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0xFFF0000000000001,
        0x7FFFFFFFFFFFFFFF, 0x7FF8123456789ABC, 0x7FF0123456789ABC, 0xFFF0000020000000],
}

def nans(dt):
    bits = np.array(NAN_BITS[dt.itemsize], dtype="<u%d" % dt.itemsize)
    return bits.view("<f%d" % dt.itemsize).astype(dt)

def edge_small(dt, i):
    if dt.names:
        a = np.zeros(4, dt)
        for j, name in enumerate(dt.names):
            a[name] = edge_small(dt[name], i + j)
        return a
    if dt.kind in "Mm":
        return np.array([0, 1 + i, -5, 1000], np.int64).astype(dt)
    return np.array([0, 1 + i, -5, 100 + i], np.float64).astype(dt)

def leaves(dt):
    if dt.names:
        return [x for name in dt.names for x in leaves(dt[name].base)]
    return [dt.base]

def undefined(a, td):
    # Elements NumPy leaves to the platform: a float or complex cast to an integer or a
    # datetime (in a record field too) that is NaN (integers only), ±inf or out of range.
    # NumPy casts them with C's float-to-integer conversion, undefined for these values.
    if a.dtype.names or a.dtype.kind not in "fc":
        return []
    v = np.trunc(a.real.astype(np.float64))
    bad = np.zeros(len(a), bool)
    for leaf in leaves(td):
        if leaf.kind in "iu":
            info = np.iinfo(leaf)
            bad |= ~np.isfinite(v) | (v < float(info.min)) | (v >= float(info.max) + 1)
        elif leaf.kind in "Mm":
            bad |= np.isinf(v) | (v < -2.0**63) | (v >= 2.0**63)
    return [int(i) for i in np.nonzero(bad)[0]]

AS = {"W": 7 * 86400 * 10**18, "D": 86400 * 10**18, "h": 3600 * 10**18, "m": 60 * 10**18,
      "s": 10**18, "ms": 10**15, "us": 10**12, "ns": 10**9, "ps": 10**6, "fs": 10**3, "as": 1}
AVERAGE = {"Y": 31556952 * 10**18, "M": 2629746 * 10**18}  # timedeltas: 365.2425 days a year

def leaps(n):
    return n // 4 - n // 100 + n // 400

def days_from_year(y):
    return (y - 1970) * 365 + leaps(y - 1) - leaps(1969)

def is_leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)

MONTH_START = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]

def year_of(days):
    y = 1970 + days * 400 // 146097
    while days_from_year(y) > days:
        y -= 1
    while days_from_year(y + 1) <= days:
        y += 1
    return y

def exact_time(t, sd, td):
    # The exact value NumPy's datetime cast means (Python ints, no wrapping), by other means
    # than the library's: leap-year counting instead of a civil-date algorithm.
    (su, sc), (tu, tc) = np.datetime_data(sd), np.datetime_data(td)
    if su == "generic":
        return t
    units = dict(AS, **AVERAGE) if sd.kind == "m" else AS
    if sd.kind == "m" or (su not in "YM" and tu not in "YM"):
        return t * sc * units[su] // (tc * units[tu])
    v = t * sc
    if su == "Y":
        att = days_from_year(1970 + v) * AS["D"]
    elif su == "M":
        y, mo = 1970 + v // 12, v % 12
        att = (days_from_year(y) + MONTH_START[mo] + (1 if mo >= 2 and is_leap(y) else 0)) * AS["D"]
    else:
        att = v * AS[su]
    days = att // AS["D"]
    if tu == "Y":
        r = year_of(days) - 1970
    elif tu == "M":
        y = year_of(days)
        doy = days - days_from_year(y)
        starts = [m + (1 if m >= 59 and i >= 2 and is_leap(y) else 0) for i, m in enumerate(MONTH_START)]
        mo = max(i for i in range(12) if starts[i] <= doy)
        r = (y - 1970) * 12 + mo
    else:
        r = att // AS[tu]
    return r // tc

def time_leaves(d, kind):
    # The datetime columns of that kind in array d (record fields too; a subarray's first value).
    if d.dtype.names:
        return [x for name in d.dtype.names for x in time_leaves(d[name], kind)]
    if d.dtype.kind != kind:
        return []
    return [d.reshape(len(d), -1)[:, 0] if d.ndim > 1 else d]

def wrapped(a, d):
    # Elements where NumPy's datetime cast wraps: its result is not the exact value.
    sd = a.dtype
    if sd.names or sd.kind not in "Mm":
        return []
    src = a.astype(sd.newbyteorder("=")).view(np.int64)
    out = set()
    for col in time_leaves(d, sd.kind):
        td = col.dtype
        got = col.astype(td.newbyteorder("=")).view(np.int64)
        for i, (t, r) in enumerate(zip(src.tolist(), got.tolist())):
            if t == -2**63:
                continue
            e = exact_time(t, sd, td)
            if e != r or not (-2**63 < e < 2**63):
                out.add(i)
    return sorted(out)

UNIT_ORDER = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"]
STEP = [1, 1, 7, 24, 60, 60, 1000, 1000, 1000, 1000, 1000, 1000, 1]

def units_factor(big, little):
    # NumPy's get_datetime_units_factor: 0 (NumPy refuses the cast) when the top byte is set.
    f = 1
    for u in range(big, little):
        f = f * STEP[u] % 2**64
        if f & 0xff00000000000000:
            return 0
    return f

def factor_wraps(sd, td):
    # Whether NumPy's get_datetime_conversion_factor (uint64 that wraps, then int64) differs
    # from the fraction it means, for a cast that uses it (not the calendar casts).
    if sd.names or td.names or sd.kind not in "Mm" or sd.kind != td.kind:
        return False
    (su, sc), (tu, tc) = np.datetime_data(sd), np.datetime_data(td)
    if "generic" in (su, tu) or (sd.kind == "M" and (su in "YM" or tu in "YM")):
        return False
    a, b = UNIT_ORDER.index(su), UNIT_ORDER.index(tu)
    small, big = min(a, b), max(a, b)
    num, den = 1, 1
    if small != big:
        if small in (0, 1) and not (small == 0 and big == 1):
            num = 146097 if big == 2 else 146097 * units_factor(3, big)
            den = (2800 if big == 2 else 400) * (12 if small == 1 else 1)
            if big != 2 and units_factor(3, big) == 0:
                num = 0
        else:
            num = 12 if small == 0 and big == 1 else units_factor(small, big)
    if num == 0:
        return False
    if a > b:
        num, den = den, num
    wn, wd = num % 2**64 * sc % 2**64, den % 2**64 * tc % 2**64
    g = math.gcd(wn, wd) or 1
    i64 = lambda x: x - 2**64 if x >= 2**63 else x
    exact = fractions.Fraction(num * sc, den * tc)
    return (i64(wn // g), i64(wd // g)) != (exact.numerator, exact.denominator)

descrs = json.load(sys.stdin)
dts = [to_dtype(d) for d in descrs]
rules = ["no", "equiv", "safe", "same_kind", "unsafe"]
edges = [edge(dt) for dt in dts]
out = {"sources": [{"hex": e.tobytes().hex(), "n": len(e)} for e in edges],
       "canCast": [], "cast": [], "skip": [], "kept": {},
       "factorWraps": [f"{si} {ti}" for si, sd in enumerate(dts) for ti, td in enumerate(dts)
                       if factor_wraps(sd, td)]}
for si, a in enumerate(edges):
    cc, cast, skip = [], [], []
    for td in dts:
        cc.append("".join("1" if np.can_cast(a.dtype, td, r) else "0" for r in rules))
        try:
            d = np.empty(len(a), td)
            np.copyto(d, a, casting="unsafe")
            cast.append(d.tobytes().hex())
            w = wrapped(a, d)
            if w:
                keep = np.array([i for i in range(len(a)) if i not in w], np.intp)
                out["kept"][f"{si} {len(cast) - 1}"] = {
                    "wrapped": w, "hex": a[keep].tobytes().hex(), "n": len(keep),
                    "cast": d[keep].tobytes().hex()}
        except Exception:
            cast.append(None)
        skip.append(undefined(a, td))
    out["canCast"].append(cc)
    out["cast"].append(cast)
    out["skip"].append(skip)
print(json.dumps(out))
`;

function hex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function text(d: Descr): string {
  return typeof d === "string" ? d : JSON.stringify(d);
}

function kindOf(d: Descr): string {
  return typeof d === "string" ? d.replace(/^[<>|=]/, "")[0]! : "record";
}

/**
 * The casts this library refuses on purpose (README, "Differences from NumPy"): numbers and
 * datetimes to or from text, void bytes to anything but void, and a record to a plain
 * dtype when its field is a subarray or the target is text or void.
 */
function deliberatelyRefused(from: Descr, to: Descr): boolean {
  const a = kindOf(from), b = kindOf(to);
  const text = (k: string) => k === "S" || k === "U";
  const plain = (k: string) => "biufcMm".includes(k);
  if ((text(a) && plain(b)) || (plain(a) && text(b))) return true;
  if (a === "V" && b !== "V") return true;
  const fields = (d: Descr) => d as readonly (readonly unknown[])[];
  if (a === "record" && b !== "record") {
    return text(b) || b === "V" || fields(from)[0]!.length > 2;
  }
  if (a === "record" && b === "record") {
    // A subarray field whose shape changes (NumPy's unsafe cast copies part of it).
    return fields(from).some((f, i) =>
      f.length > 2 && JSON.stringify(f[2]) !== JSON.stringify(fields(to)[i]?.[2])
    );
  }
  return false;
}

const oracle = runPython<Oracle>(ORACLE_PY, DESCRS);

/** Compares element by element, leaving out the undefined ones; returns a mismatch text. */
function compare(got: Uint8Array, want: Uint8Array, itemsize: number, skip: number[]) {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  const skipped = new Set(skip);
  for (let i = 0; i * itemsize < got.length; i++) {
    if (skipped.has(i)) continue;
    const g = got.subarray(i * itemsize, (i + 1) * itemsize);
    const w = want.subarray(i * itemsize, (i + 1) * itemsize);
    if (g.some((x, k) => x !== w[k])) {
      return `element ${i}: ${Buffer.from(g).toString("hex")} != ${Buffer.from(w).toString("hex")}`;
    }
  }
  return undefined;
}

function itemsize(d: Descr, bytes: Uint8Array, n: number): number {
  void d;
  return n === 0 ? 0 : bytes.length / n;
}

interface Case {
  src: Uint8Array;
  n: number;
  /** NumPy's bytes, or null where NumPy raises. */
  want: string | null;
  skip: number[];
  /** NumPy wraps some datetime in it: refused here on purpose. */
  wraps: boolean;
}

/** The chunks for (source s, target t): the edge values, and without NumPy's wraps. */
function casesFor(s: number, t: number): Case[] {
  const { hex: srcHex, n } = oracle.sources[s]!;
  const full: Case = {
    src: hex(srcHex),
    n,
    want: oracle.cast[s]![t]!,
    skip: oracle.skip[s]![t]!,
    wraps: false,
  };
  const kept = oracle.kept[`${s} ${t}`];
  if (kept === undefined) return [full];
  return [
    { ...full, wraps: true },
    { src: hex(kept.hex), n: kept.n, want: kept.cast, skip: [], wraps: false },
  ];
}

test("encodeNpy casts raw chunks as NumPy's can_cast and astype do, for every descr pair and rule", () => {
  const problems: string[] = [];
  let accepted = 0, refused = 0, compared = 0, wraps = 0, factorRefusals = 0;
  const factorWraps = new Set(oracle.factorWraps);
  const named = (pair: string) => pair.split(" ").map((i) => text(DESCRS[Number(i)]!)).join(" ");
  for (const pair of ["<m8[3Y] <m8[ns]", "<M8[1000m] <M8[1000fs]", "<m8[ns] <m8[1000Y]"]) {
    assert.ok(oracle.factorWraps.map(named).includes(pair), pair);
  }
  DESCRS.forEach((from, s) => {
    DESCRS.forEach((to, t) => {
      const deliberate = deliberatelyRefused(from, to);
      for (const c of casesFor(s, t)) {
        CASTINGS.forEach((casting, r) => {
          const numpySays = oracle.canCast[s]![t]![r] === "1" && c.want !== null;
          const ours = numpySays && !deliberate && !c.wraps;
          const label = `${text(from)} -> ${text(to)} (${casting}${c.wraps ? ", wraps" : ""})`;
          let out: Uint8Array | undefined;
          try {
            out = encodeNpy({ data: c.src, shape: [c.n], descr: from }, { descr: to, casting });
          } catch (e) {
            if (!(e instanceof NpyDtypeError)) {
              problems.push(`${label}: ${(e as Error).constructor.name} ${(e as Error).message}`);
              return;
            }
            if (ours) problems.push(`${label}: refused (${e.message}), NumPy accepts`);
            refused++;
            if (numpySays && c.wraps) {
              wraps++;
              // The reason names NumPy's broken conversion factor exactly where it is broken.
              const factor = factorWraps.has(`${s} ${t}`);
              if (factor) factorRefusals++;
              if (factor !== /NumPy's conversion factor between the units/.test(e.message)) {
                problems.push(`${label}: refused for the wrong reason: ${e.message}`);
              }
            }
            return;
          }
          if (!ours) {
            problems.push(`${label}: accepted, NumPy refuses${deliberate ? " (text)" : ""}`);
            return;
          }
          accepted++;
          const data = out.subarray(parseHeader(out).headerLength);
          const wantBytes = hex(c.want!);
          const mismatch = compare(data, wantBytes, itemsize(to, wantBytes, c.n), c.skip);
          if (mismatch !== undefined) problems.push(`${label}: ${mismatch}`);
          else compared++;
        });
      }
    });
  });
  assert.deepEqual(problems.slice(0, 60), [], `${problems.length} problems`);
  assert.ok(accepted > 5000 && refused > 5000, `accepted ${accepted}, refused ${refused}`);
  assert.ok(wraps > 100, `${wraps} wrapping casts refused`);
  assert.ok(factorRefusals > 10, `${factorRefusals} refused for NumPy's conversion factor`);
  assert.equal(compared, accepted);
});

test("appendSync casts raw chunks onto a file as NumPy does; a refused chunk leaves it unchanged", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const problems: string[] = [];
    DESCRS.forEach((to, t) => {
      // One file per target; each source goes in under one rule (rotating over the five).
      const path = join(dir, `t${t}.npy`);
      writeFileSync(path, encodeNpy({ data: new Uint8Array(0), shape: [0], descr: to }));
      const expected: Uint8Array[] = [];
      const skips: { at: number; skip: number[]; n: number }[] = [];
      let rows = 0;
      CASTINGS.forEach((casting, r) => {
        const writer = NpyAppendArray.openSync(path, { casting });
        try {
          DESCRS.forEach((from, s) => {
            if ((s + t) % 5 !== r) return;
            for (const c of casesFor(s, t)) {
              const ok = oracle.canCast[s]![t]![r] === "1" && c.want !== null && !c.wraps &&
                !deliberatelyRefused(from, to);
              writer.flushSync();
              const before = statSync(path).size;
              const label = `${text(from)} -> ${text(to)} (${casting})`;
              try {
                writer.appendSync({ data: c.src, shape: [c.n], descr: from });
                if (!ok) problems.push(`${label}: accepted, NumPy refuses`);
                expected.push(hex(c.want!));
                skips.push({ at: rows, skip: c.skip, n: c.n });
                rows += c.n;
              } catch (e) {
                if (!(e instanceof NpyDtypeError)) problems.push(`${label}: ${e}`);
                else if (ok) problems.push(`${label}: refused, NumPy accepts: ${e.message}`);
                writer.flushSync();
                if (statSync(path).size !== before) {
                  problems.push(`${label}: refused but the file changed`);
                }
              }
            }
          });
        } finally {
          writer.closeSync();
        }
      });
      const file = readFileSync(path);
      const header = parseHeader(file);
      assert.deepEqual(header.shape, [rows]);
      const data = file.subarray(header.headerLength);
      const want = new Uint8Array(expected.reduce((a, b) => a + b.length, 0));
      let at = 0;
      for (const e of expected) {
        want.set(e, at);
        at += e.length;
      }
      const size = rows === 0 ? 0 : want.length / rows;
      const skip = skips.flatMap((x) => x.skip.map((i) => x.at + i));
      const mismatch = compare(data, want, size, skip);
      if (mismatch !== undefined) problems.push(`file of ${text(to)}: ${mismatch}`);
    });
    assert.deepEqual(problems.slice(0, 60), [], `${problems.length} problems`);
  } finally {
    cleanup();
  }
});

const TYPED: Record<string, new (buffer: ArrayBuffer) => ArrayLike<unknown>> = {
  "|i1": Int8Array,
  "|u1": Uint8Array,
  "<i2": Int16Array,
  "<u2": Uint16Array,
  "<i4": Int32Array,
  "<u4": Uint32Array,
  "<i8": BigInt64Array,
  "<u8": BigUint64Array,
  "<f4": Float32Array,
  "<f8": Float64Array,
};
const F16 = (globalThis as { Float16Array?: new (b: ArrayBuffer) => ArrayLike<number> })
  .Float16Array;
if (F16 !== undefined) TYPED["<f2"] = F16;

test("bare TypedArrays cast into numeric descrs give NumPy's astype bytes under every rule", () => {
  // Little-endian hosts only: the TypedArray's type is the source descr with '<'.
  const problems: string[] = [];
  let compared = 0;
  // A float TypedArray for a complex descr holds interleaved (re, im) pairs: it is then a
  // complex source, Float32Array for '<c8' and Float64Array for '<c16'.
  const sources: [string, new (b: ArrayBuffer) => ArrayLike<unknown>, (d: string) => boolean][] =
    Object.entries(TYPED).map(([from, Ctor]) => [from, Ctor, (d) => !d.includes("c")]);
  sources.push(["<c8", Float32Array, (d) => d.includes("c")]);
  sources.push(["<c16", Float64Array, (d) => d.includes("c")]);
  for (const [from, Ctor, targets] of sources) {
    const s = DESCRS.indexOf(from);
    const { hex: srcHex, n } = oracle.sources[s]!;
    const typed = new Ctor(hex(srcHex).buffer as ArrayBuffer);
    NUMERIC.filter(targets).forEach((to) => {
      const t = DESCRS.indexOf(to);
      const want = oracle.cast[s]![t]!;
      CASTINGS.forEach((casting, r) => {
        const label = `${from} TypedArray -> ${to} (${casting})`;
        const numpySays = oracle.canCast[s]![t]![r] === "1";
        let out: Uint8Array;
        try {
          out = encodeNpy(typed as unknown as Int8Array, { descr: to, casting });
        } catch (e) {
          if (!(e instanceof NpyDtypeError)) problems.push(`${label}: ${e}`);
          else if (numpySays) problems.push(`${label}: refused, NumPy accepts`);
          return;
        }
        if (!numpySays) return void problems.push(`${label}: accepted, NumPy refuses`);
        const data = out.subarray(parseHeader(out).headerLength);
        const wantBytes = hex(want);
        const mismatch = compare(data, wantBytes, wantBytes.length / n, oracle.skip[s]![t]!);
        if (mismatch !== undefined) problems.push(`${label}: ${mismatch}`);
        else compared++;
      });
    });
  }
  assert.deepEqual(problems.slice(0, 40), [], `${problems.length} problems`);
  assert.ok(compared > 400, `${compared} compared`); // fewer without Float16Array (Node 20)
});

test("ndarray-likes of decoded values (not raw bytes) with their own descr cast exactly as raw chunks do", () => {
  // The same step: the chunk is encoded in its own descr, then cast. Checked for every pair
  // under "unsafe" and "same_kind", against the raw chunk's result.
  const problems: string[] = [];
  let same = 0;
  DESCRS.forEach((from, s) => {
    const { hex: srcHex, n } = oracle.sources[s]!;
    const src = hex(srcHex);
    const values = defaultRegistry.resolve(from).decode(src);
    DESCRS.forEach((to) => {
      for (const casting of ["same_kind", "unsafe"] as Casting[]) {
        const attempt = (chunk: unknown): Uint8Array | string => {
          try {
            return encodeNpy(chunk as Uint8Array, { descr: to, casting });
          } catch (e) {
            return e instanceof NpyDtypeError ? "refused" : String(e);
          }
        };
        const raw = attempt({ data: src, shape: [n], descr: from });
        const decoded = Array.isArray(values) || ArrayBuffer.isView(values) ? values : undefined;
        if (decoded === undefined) continue;
        const viaValues = attempt({ data: decoded, shape: [n], descr: from });
        const label = `${text(from)} -> ${text(to)} (${casting})`;
        if (typeof raw === "string" || typeof viaValues === "string") {
          if (raw !== viaValues) problems.push(`${label}: raw ${raw}, values ${viaValues}`);
          else same++;
        } else if (raw.length !== viaValues.length || raw.some((x, i) => x !== viaValues[i])) {
          problems.push(`${label}: the bytes differ`);
        } else same++;
      }
    });
  });
  assert.deepEqual(problems.slice(0, 40), [], `${problems.length} problems`);
  assert.ok(same > 10_000, `${same} agree`);
});
