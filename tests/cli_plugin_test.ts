/**
 * `npy head` and `npy tail` print what the file's dtype decodes, so a dtype plugin in the
 * registry given to `main()` prints its own values: the bfloat16 plugin of
 * examples/custom_dtype.ts (run in a child, as that example runs its demo when imported;
 * NumPy says what the bits are as float32), a plugin defined here, a plugin inside a record,
 * and the errors for a descr no plugin reads and for a plugin that decodes the wrong count.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { main, type MainOptions } from "../cli.ts";
import {
  BUILTIN_PLUGINS,
  defaultRegistry,
  type Dtype,
  type DtypePlugin,
  DtypeRegistry,
  saveNpySync,
} from "../mod.ts";
import { makeTempDir, ROOT, runPython } from "./_util.ts";

const { dir, cleanup } = makeTempDir("npy-cli-plugin-");
const p = (name: string) => join(dir, name);
test.after(cleanup);

async function npy(args: string[], options: MainOptions = {}) {
  const run = { code: -1, out: "", err: "" };
  run.code = await main(args, {
    stdout: (t) => void (run.out += t),
    stderr: (t) => void (run.err += t),
    isTTY: false,
    ...options,
  });
  return run;
}

/** The command that runs a .ts file: this runtime, or under Node the repository's Deno. */
function tsCommand(file: string): [string, string[]] {
  const g = globalThis as { Deno?: { execPath(): string }; Bun?: unknown };
  if (g.Deno) return [g.Deno.execPath(), ["run", "-A", file]];
  if (g.Bun) return [process.execPath, [file]];
  return [join(ROOT, "node_modules", ".bin", "deno"), ["run", "-A", file]];
}

test("npy head prints the values of the bfloat16 plugin of examples/custom_dtype.ts", () => {
  const path = p("bf16.npy");
  const url = (file: string) => JSON.stringify(pathToFileURL(join(ROOT, file)).href);
  // Importing the example runs its demo too: what this child prints comes after a marker.
  const child = p("bf16_child.ts");
  writeFileSync(
    child,
    `import { bfloat16Plugin } from ${url("examples/custom_dtype.ts")};
import { BUILTIN_PLUGINS, DtypeRegistry, NpyAppendArray } from ${url("mod.ts")};
import { main } from ${url("cli.ts")};
const registry = new DtypeRegistry(BUILTIN_PLUGINS).register(bfloat16Plugin);
const path = ${JSON.stringify(path)};
{
  await using w = await NpyAppendArray.open(path, { descr: "<u2", registry, mode: "overwrite" });
  await w.append(Float32Array.of(1, -2.5, 3.140625, 1e38, Infinity, -0, 0.1));
}
let out = "";
const stdout = (text: string) => void (out += text);
const codes = [
  await main(["head", "-n", "3", path], { registry, stdout }),
  await main(["tail", "-n", "4", path], { registry, stdout }),
  await main(["head", path], { stdout }), // the default registry: '<u2' is uint16
];
console.log("--- npy ---");
console.log(JSON.stringify({ codes, out }));
`,
  );
  const [cmd, args] = tsCommand(child);
  const run = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  assert.equal(run.status, 0, `${cmd} ${args.join(" ")}:\n${run.stdout}\n${run.stderr}`);
  const result = JSON.parse(run.stdout.split("--- npy ---\n")[1] ?? "null") as {
    codes: number[];
    out: string;
  };
  assert.deepEqual(result.codes, [0, 0, 0]);
  // NumPy's view of the file: uint16 bits, and as bfloat16 (the bits of a float32's top half).
  const numpy = runPython<{ floats: string[]; bits: string[] }>(
    `b = np.load(json.load(sys.stdin))
f = (b.astype("<u4") << 16).view("<f4")
print(json.dumps({"floats": [str(x) for x in f], "bits": [str(x) for x in b]}))`,
    path,
  );
  assert.deepEqual(numpy.floats.slice(0, 5), ["1.0", "-2.5", "3.140625", "9.96921e+37", "inf"]);
  const rows = (values: string[], from: number) =>
    values.map((v, i) => `${from + i}  ${v}\n`).join("");
  assert.equal(
    result.out,
    rows(numpy.floats.slice(0, 3), 0) + rows(numpy.floats.slice(3), 3) + rows(numpy.bits, 0),
  );
});

/** Reads '<u2' as tenths (15 is 1.5), through the built-in uint16 codec. */
const tenthsPlugin: DtypePlugin = {
  name: "tenths",
  resolve(descr) {
    if (descr !== "<u2") return undefined;
    const u2 = new DtypeRegistry(BUILTIN_PLUGINS).resolve("<u2");
    const dtype: Dtype<Float64Array> = {
      descr: "<u2",
      itemsize: 2,
      count: (values) => u2.count(values),
      encodeInto: (values, target) =>
        u2.encodeInto(Uint16Array.from(values, (x) => Math.round(x * 10)), target),
      decode: (bytes) => Float64Array.from(u2.decode(bytes) as Uint16Array, (x) => x / 10),
    };
    return dtype;
  },
};

test("a plugin's values print in rows, subarrays and record fields", async () => {
  const registry = defaultRegistry.register(tenthsPlugin);
  saveNpySync(p("tenths.npy"), { data: Uint16Array.of(15, 2, 0, 7), shape: [2, 2] });
  const rows = await npy(["head", p("tenths.npy")], { registry });
  assert.deepEqual(rows, { code: 0, out: "0  [1.5, 0.2]\n1  [0.0, 0.7]\n", err: "" });
  // The record plugin resolves its fields through the same registry: the plugin's too.
  runPython(
    `a = np.zeros(2, dtype=[("id", "<i4"), ("t", "<u2", (2,)), ("ok", "?")])
a["id"] = [7, -1]
a["t"] = [[15, 2], [100, 0]]
a["ok"] = [True, False]
np.save(json.load(sys.stdin), a)
print("null")`,
    p("rec.npy"),
  );
  const rec = await npy(["tail", "-n", "1", p("rec.npy")], { registry });
  assert.deepEqual(rec, { code: 0, out: "1  {id: -1, t: [10.0, 0.0], ok: False}\n", err: "" });
  const plain = await npy(["head", p("rec.npy")]);
  assert.equal(
    plain.out,
    "0  {id: 7, t: [15, 2], ok: True}\n1  {id: -1, t: [100, 0], ok: False}\n",
  );
});

test("a descr no plugin of the registry reads, and a plugin decoding the wrong count, exit 1", async () => {
  saveNpySync(p("f8.npy"), Float64Array.of(1, 2));
  const onlyTenths = new DtypeRegistry([tenthsPlugin]);
  const unknown = await npy(["head", p("f8.npy")], { registry: onlyTenths });
  assert.equal(unknown.code, 1);
  assert.equal(unknown.out, "");
  // The file and the descr are named (the library words the reason).
  assert.match(unknown.err, /^npy head: Cannot .*"[^"]*f8\.npy".*'<f8'.*\n$/);
  // info still shows the header, and says why the dtype is not read.
  const info = await npy(["info", p("f8.npy")], { registry: onlyTenths });
  assert.equal(info.code, 1);
  assert.match(info.out, /header\s+\{'descr': '<f8', .*\n\s+dtype\s+not supported: Cannot resolve/);
  const short: DtypePlugin = {
    name: "short",
    resolve: (descr, registry) => {
      if (descr !== "<f8") return undefined;
      const f8 = new DtypeRegistry(BUILTIN_PLUGINS).resolve("<f8");
      void registry;
      return {
        descr: "<f8",
        itemsize: 8,
        count: (values) => f8.count(values),
        encodeInto: (values, target) => f8.encodeInto(values, target),
        decode: () => [1],
      };
    },
  };
  const wrong = await npy(["head", p("f8.npy")], { registry: defaultRegistry.register(short) });
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.err,
    /^npy head: Cannot print values of descr '<f8': its dtype decoded an array of length 1 for 2 elements\n$/,
  );
});
