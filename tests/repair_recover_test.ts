/**
 * recover() on files damaged the way it happens — a download cut at every byte position,
 * a crash after rows were written but before the header was rewritten — with and without
 * zero-fill, then loaded by NumPy (np.load and mmap_mode="r") with the expected rows.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  encodeHeader,
  type HeaderFields,
  needsRecovery,
  needsRecoverySync,
  NpyRecoveryError,
  parseHeader,
  recover,
  recoverSync,
} from "../mod.ts";
import { makeTempDir, present, runPython } from "./_util.ts";
import { hex } from "./_reader_util.ts";

interface Damaged {
  path: string;
  zeroFill: boolean;
  /** Rows NumPy must see after recovery. */
  rows: number;
  /** The expected data bytes after recovery. */
  data: Uint8Array;
  shape: number[];
  headerLength: number;
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 16) & 0xff;
  }
  return out;
}

function withShape(fields: HeaderFields, rows: number): HeaderFields {
  const shape = [...fields.shape];
  shape[fields.fortranOrder ? shape.length - 1 : 0] = rows;
  return { ...fields, shape };
}

const PY_LOAD = `
out = []
for path in json.load(sys.stdin):
    a = np.load(path)
    m = np.load(path, mmap_mode="r")
    assert a.shape == m.shape and a.tobytes(order="A") == np.asarray(m).tobytes(order="A")
    out.append([list(a.shape), a.tobytes(order="F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C").hex()])
print(json.dumps(out))
`;

test("recover() repairs files cut at every byte and crashed mid-append; NumPy loads them", async () => {
  const { dir, cleanup } = makeTempDir("npy-recover-");
  try {
    const damaged: Damaged[] = [];
    const cases: Array<{ fields: HeaderFields; rows: number; every: number }> = [
      { fields: { descr: "<i4", fortranOrder: false, shape: [0, 3] }, rows: 6, every: 1 },
      { fields: { descr: ">f8", fortranOrder: true, shape: [2, 3, 0] }, rows: 4, every: 5 },
      { fields: { descr: "<i2", fortranOrder: false, shape: [0] }, rows: 9, every: 1 },
    ];
    let k = 0;
    for (const { fields, rows, every } of cases) {
      const full = withShape(fields, rows);
      const header = encodeHeader(full);
      const h = header.length;
      const data = pattern(parseHeaderData(full), 7 + k);
      const rowBytes = data.length / rows;
      // (claimed rows in the header, the cut position in the data)
      const damage: Array<[number, number]> = [];
      for (let cut = 0; cut <= data.length; cut += every) damage.push([rows, cut]); // cut download
      for (let cut = 2 * rowBytes; cut <= data.length; cut += every) damage.push([2, cut]); // crash
      for (const [claimed, cut] of damage) {
        for (const zeroFill of [false, true]) {
          const path = join(dir, `d${k++}.npy`);
          const bytes = new Uint8Array(h + cut);
          bytes.set(encodeHeader(withShape(fields, claimed), { totalLength: h }));
          bytes.set(data.subarray(0, cut), h);
          writeFileSync(path, bytes);
          const expectedRows = zeroFill ? Math.ceil(cut / rowBytes) : Math.floor(cut / rowBytes);
          const expected = new Uint8Array(expectedRows * rowBytes);
          expected.set(data.subarray(0, Math.min(cut, expected.length)));
          const mismatch = cut !== claimed * rowBytes;
          assert.equal(needsRecoverySync(path), mismatch, `${path} before`);
          const result = k % 4 < 2
            ? recoverSync(path, { zeroFill })
            : await recover(path, { zeroFill });
          assert.deepEqual(result, {
            rows: expectedRows,
            droppedBytes: zeroFill ? 0 : cut % rowBytes,
            addedBytes: zeroFill && cut % rowBytes ? rowBytes - (cut % rowBytes) : 0,
          }, path);
          assert.equal(await needsRecovery(path), false, `${path} after`);
          const after = new Uint8Array(readFileSync(path));
          assert.equal(parseHeader(after).headerLength, h, "the header is rewritten in place");
          damaged.push({
            path,
            zeroFill,
            rows: expectedRows,
            data: expected,
            shape: withShape(fields, expectedRows).shape as number[],
            headerLength: h,
          });
        }
      }
    }
    const loaded = runPython<Array<[number[], string]>>(PY_LOAD, damaged.map((d) => d.path));
    assert.equal(loaded.length, damaged.length);
    for (const [i, d] of damaged.entries()) {
      const [shape, data] = present(loaded[i], d.path);
      assert.deepEqual(shape, d.shape, d.path);
      assert.equal(data, hex(d.data), d.path);
    }
    assert.ok(damaged.length > 300, `${damaged.length} damaged files`);
  } finally {
    cleanup();
  }
});

function parseHeaderData(fields: HeaderFields): number {
  const itemsize = fields.descr === "<i2" ? 2 : fields.descr === "<i4" ? 4 : 8;
  return fields.shape.reduce<number>((a, b) => a * Number(b), itemsize);
}

test("recover() rewrites through a temp file when a header without room needs more digits", () => {
  const { dir, cleanup } = makeTempDir("npy-recover-");
  try {
    const path = join(dir, "old.npy");
    // A minimal header (no growth room, no padding, as some writers make); header says 9
    // rows, 12 are there: "12" needs one more byte than the header has.
    const fields = { descr: "<f8", fortranOrder: false, shape: [9] };
    const header = encodeHeader(fields, { totalLength: 68 });
    const data = new Float64Array(12).map((_, i) => i * 1.5);
    const bytes = new Uint8Array(68 + data.byteLength + 3);
    bytes.set(header);
    bytes.set(new Uint8Array(data.buffer), 68);
    writeFileSync(path, bytes);
    assert.deepEqual(recoverSync(path), { rows: 12, droppedBytes: 3, addedBytes: 0 });
    const after = new Uint8Array(readFileSync(path));
    assert.equal(parseHeader(after).headerLength, 128);
    const [shape, values] = runPython<[number[], number[]]>(
      `a = np.load(sys.stdin.read().strip('"'), mmap_mode="r"); print(json.dumps([list(a.shape), a.tolist()]))`,
      path,
    );
    assert.deepEqual(shape, [12]);
    assert.deepEqual(values, [...data]);
  } finally {
    cleanup();
  }
});

test("recover() of a cut 0-d array needs zeroFill; a sound file is left untouched", async () => {
  const { dir, cleanup } = makeTempDir("npy-recover-");
  try {
    const path = join(dir, "scalar.npy");
    const header = encodeHeader({ descr: "<f8", fortranOrder: false, shape: [] });
    const bytes = new Uint8Array(header.length + 8);
    bytes.set(header);
    new DataView(bytes.buffer).setFloat64(header.length, 2.5, true);
    writeFileSync(path, bytes);
    const mtime = statSync(path).mtimeMs;
    assert.deepEqual(await recover(path), { rows: 1, droppedBytes: 0, addedBytes: 0 });
    assert.equal(statSync(path).mtimeMs, mtime);
    truncateSync(path, header.length + 5);
    assert.throws(() => recoverSync(path), NpyRecoveryError);
    assert.equal(statSync(path).size, header.length + 5, "nothing written");
    assert.deepEqual(recoverSync(path, { zeroFill: true }), {
      rows: 1,
      droppedBytes: 0,
      addedBytes: 3,
    });
    assert.equal(statSync(path).size, header.length + 8);
  } finally {
    cleanup();
  }
});

test("recover({ dryRun }) reports what recover() then does, and writes nothing", async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const fields = { descr: "<i4", fortranOrder: false, shape: [4, 3] };
    const header = encodeHeader(fields);
    for (const zeroFill of [false, true]) {
      const path = join(dir, `cut-${zeroFill}.npy`);
      // 4 rows of 12 bytes claimed, 2 rows and 5 bytes there.
      writeFileSync(path, new Uint8Array([...header, ...pattern(2 * 12 + 5, 7)]));
      const before = readFileSync(path);
      const planned = await recover(path, { zeroFill, dryRun: true });
      assert.deepEqual(readFileSync(path), before, "a dry run writes nothing");
      assert.deepEqual(recoverSync(path, { zeroFill, dryRun: true }), planned);
      assert.deepEqual(
        planned,
        zeroFill
          ? { rows: 3, droppedBytes: 0, addedBytes: 7 }
          : { rows: 2, droppedBytes: 5, addedBytes: 0 },
      );
      assert.deepEqual(await recover(path, { zeroFill }), planned);
      assert.equal(statSync(path).size, header.length + planned.rows * 12);
    }
  } finally {
    cleanup();
  }
});
