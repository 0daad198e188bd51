/**
 * The writer and the repair tools over a fault-injecting file layer (tests/_fault_util.ts
 * swapped in through lib/file.ts), and on real mounts where this process may make them:
 * power loss (unsynced writes dropped, the header write kept; files cut at random), a full
 * disk (a 1 MiB tmpfs, else ENOSPC from the layer), EIO, permission denied, read-only
 * file systems, the file deleted or cut under a live writer, a directory in its place.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import {
  loadNpySync,
  NpyAppendArray,
  NpyFormatError,
  NpyIOError,
  NpyLockError,
  NpyReader,
  parseNpy,
  recover,
  recoverSync,
  saveNpy,
  saveNpySync,
} from "../mod.ts";
import { main } from "../cli.ts";
import { makeTempDir, present } from "./_util.ts";
import {
  checkPrefixes,
  Child,
  faultTotals,
  FaultyFileSystem,
  type FileOp,
  LIMIT,
  LONG,
  powerLossImage,
  type PrefixCheck,
  RUNTIME,
  seeded,
  tryMount,
  unmount,
  withLayer,
} from "./_fault_util.ts";

/** A temp dir on tmpfs when there is one (recover fsyncs: free there), else the default. */
function fastTempDir(prefix: string): { dir: string; cleanup: () => void } {
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dir = mkdtempSync(join(base, prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `rows` rows of the known content starting at row `start`: row i = [i, 2i, 3i, 4i]. */
function rowsFrom(start: number, rows: number): BigInt64Array {
  const out = new BigInt64Array(rows * 4);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < 4; c++) out[r * 4 + c] = BigInt((start + r) * (c + 1));
  }
  return out;
}

/** The row count of a parsed file, after checking its rows are the known prefix. */
function prefixRows(bytes: Uint8Array): number {
  const a = parseNpy(bytes);
  assert.equal(a.descr, "<i8");
  assert.equal(a.shape.length, 2);
  assert.equal(a.shape[1], 4);
  const data = a.data as BigInt64Array;
  for (let i = 0; i < data.length; i++) {
    const row = Math.floor(i / 4);
    if (data[i] !== BigInt(row * ((i % 4) + 1))) assert.fail(`row ${row} is not the appended row`);
  }
  return present(a.shape[0], "row count");
}

const POWER_APPENDS = LONG ? 150 : 30;

test(
  `power loss: ${POWER_APPENDS} appends per sync mode, a crash after every file operation, unsynced writes dropped`,
  LIMIT,
  async () => {
    const { dir, cleanup } = fastTempDir("npy-power-");
    const rand = seeded(0xfade);
    let images = 0, recovered = 0, headerLost = 0;
    const numpy: PrefixCheck[] = [];
    try {
      for (const sync of ["none", "close", "append"] as const) {
        for (const api of ["async", "sync"] as const) {
          const path = join(dir, `w-${sync}-${api}.npy`);
          const layer = new FaultyFileSystem((p) => p === path);
          const acks: Array<{ at: number; rows: number }> = [];
          await withLayer(layer, async () => {
            const w = await NpyAppendArray.open(path, {
              descr: "<i8",
              shape: [4],
              durability: sync,
            });
            for (let n = 0; n < POWER_APPENDS; n++) {
              const chunk = rowsFrom(w.rows, 1 + Math.floor(rand() * 8));
              if (api === "sync") w.appendSync(chunk);
              else await w.append(chunk);
              acks.push({ at: layer.journals.get(path)!.length, rows: w.rows });
            }
            await w.close();
          });
          const journal = layer.journals.get(path)!;
          for (let j = 0; j <= journal.length; j++) {
            const ops = journal.slice(0, j);
            let acked = 0;
            for (const a of acks) if (a.at <= j) acked = a.rows;
            const variants = [
              {},
              { dropLastData: 1 },
              { dropLastData: 2 },
              { dropLastData: Infinity },
              { dropLastData: 1, dropHeader: true },
            ];
            for (const variant of variants) {
              const { image, syncedLength } = powerLossImage(ops, variant);
              // Cut anywhere at or past what was synced (the tail a power loss may lose) and,
              // for recover only, anywhere at all.
              const cuts = [
                image.length,
                syncedLength + Math.floor(rand() * (image.length - syncedLength + 1)),
                Math.floor(rand() * (image.length + 1)),
              ];
              for (const [c, cut] of cuts.entries()) {
                const bytes = image.slice(0, cut);
                images++;
                const durable = cut >= syncedLength;
                if (sync === "append" && durable && acked > 0) {
                  // Every acknowledged row was synced before the header claimed it: the file
                  // loads as it is, with all of them.
                  assert.ok(prefixRows(bytes) >= acked, `${sync} op ${j}: rows lost`);
                }
                const file = join(dir, "image.npy");
                writeFileSync(file, bytes);
                try {
                  const result = recoverSync(file);
                  recovered++;
                  const rows = prefixRows(readFileSync(file));
                  assert.equal(rows, result.rows);
                  if (sync === "append" && durable) assert.ok(rows >= acked);
                  if (numpy.length < 60 && c === 2 && rand() < 0.2) {
                    const keep = join(dir, `np-${numpy.length}.npy`);
                    writeFileSync(keep, readFileSync(file));
                    numpy.push({ path: keep, kind: "i8", atLeast: 0 });
                  }
                } catch (e) {
                  // The header itself never reached the disk: nothing to recover, a typed
                  // error, nothing written. Never so for a synced header.
                  if (!(e instanceof NpyFormatError)) throw e;
                  assert.ok(!(sync === "append" && durable && acked > 0), `${sync} op ${j}`);
                  assert.deepEqual(readFileSync(file), Buffer.from(bytes));
                  headerLost++;
                }
              }
            }
          }
        }
      }
      const results = checkPrefixes(numpy);
      assert.ok(results.every((r) => typeof r === "number"), JSON.stringify(results));
      console.log(
        `power loss: ${images} crash images (${recovered} recovered to a loadable prefix, ` +
          `checked by NumPy for ${numpy.length}; ${headerLost} whose header never reached the disk, a ` +
          `typed error and nothing written, none of them after an acknowledged append with ` +
          `sync "append"), 0 acknowledged rows lost with sync "append"`,
      );
    } finally {
      cleanup();
    }
  },
);

/** Appends until the disk is full; returns the rows acknowledged and the error. */
async function fillDisk(path: string, durability: "none" | "append"): Promise<[number, unknown]> {
  const w = await NpyAppendArray.open(path, { descr: "<i8", shape: [4], durability });
  let error: unknown;
  let acked = 0;
  for (let n = 0; n < 100_000; n++) {
    try {
      await w.append(rowsFrom(w.rows, 1 + (n % 700)));
      acked = w.rows;
    } catch (e) {
      error = e;
      break;
    }
  }
  assert.ok(error !== undefined, "the disk never filled");
  // Later appends are refused, naming the cause; the writer closes cleanly.
  await assert.rejects(w.append(rowsFrom(acked, 1)), /an earlier write failed/);
  await w.close();
  return [acked, error];
}

test(
  "disk full: the append fails with ENOSPC naming the file; every acknowledged row stays",
  LIMIT,
  async () => {
    const checks: PrefixCheck[] = [];
    const ran: string[] = [];
    // 1. A real 1 MiB tmpfs, when this process may mount one.
    const mnt = mkdtempSync(join(tmpdir(), "npy-full-"));
    const mounted = tryMount(["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
    const { dir, cleanup } = makeTempDir("npy-full-copies-");
    try {
      if (mounted) {
        for (const sync of ["none", "append"] as const) {
          const path = join(mnt, `full-${sync}.npy`);
          const [acked, error] = await fillDisk(path, sync);
          assert.equal((error as { code?: string }).code, "ENOSPC");
          assert.match((error as Error).message, /^Cannot append to ".*full-.*\.npy": /);
          assert.equal(existsSync(path + ".lock"), false);
          // The partial rows were cut: the file is sound as it is, and opens for appending.
          assert.equal(prefixRows(readFileSync(path)), acked);
          const copy = join(dir, `tmpfs-${sync}.npy`);
          writeFileSync(copy, readFileSync(path));
          checks.push({ path: copy, kind: "i8", atLeast: acked });
          rmSync(path);
        }
        ran.push("a real 1 MiB tmpfs");
      }
      // 2. The fault layer: a byte budget, then a short write and ENOSPC (always runs).
      for (const sync of ["none", "append"] as const) {
        for (const budget of [1000, 65_536 + 13, 300_001]) {
          const path = join(dir, `layer-${sync}-${budget}.npy`);
          const layer = new FaultyFileSystem((p) => p === path);
          layer.spaceLeft = budget;
          const [acked, error] = await withLayer(layer, () => fillDisk(path, sync));
          assert.ok(error instanceof NpyIOError && error.path === path, String(error));
          assert.equal(error.code, "ENOSPC");
          assert.ok((layer.faults.ENOSPC ?? 0) >= 1);
          assert.equal(prefixRows(readFileSync(path)), acked);
          checks.push({ path, kind: "i8", atLeast: acked });
        }
      }
      ran.push("the fault layer's ENOSPC after 1000 B, 64 KiB + 13 B and 300 kB budgets");
      const results = checkPrefixes(checks);
      assert.ok(results.every((r) => typeof r === "number"), JSON.stringify(results));
      console.log(`disk full: ran on ${ran.join(" and ")}; ${checks.length} files loaded by NumPy`);
    } finally {
      if (mounted) unmount(mnt);
      rmSync(mnt, { recursive: true, force: true });
      cleanup();
    }
  },
);

/** What a full disk must give: `Cannot <verb> "<path>": … (ENOSPC)`, code and cause kept. */
function checkFull(e: unknown, verb: string, path: string): true {
  const error = e as Error & { code?: string; cause?: { code?: string } };
  const quoted = JSON.stringify(path).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  assert.match(error.message, new RegExp(`^Cannot ${verb} ${quoted}.*: .*\\(ENOSPC\\)$`));
  assert.doesNotMatch(error.message, /\.lock|\.tmp/);
  assert.equal(error.code, "ENOSPC");
  assert.equal(error.cause?.code, "ENOSPC");
  return true;
}

test(
  "disk full in saveNpy, npy concat and the lock file: errors worded for the user's file, code and cause kept; no temp or empty lock file left; a dead writer's lock record kept",
  LIMIT,
  async () => {
    const mnt = mkdtempSync(join(tmpdir(), "npy-full2-"));
    const mounted = tryMount(["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
    const { dir: other, cleanup } = makeTempDir("npy-full2-in-");
    // On the tmpfs the disk is full for real; without one, the fault layer runs out of space.
    const layer = new FaultyFileSystem((p) => p.startsWith(mnt));
    if (!mounted) layer.install();
    try {
      const big = join(other, "big.npy");
      saveNpySync(big, new Float64Array(1 << 18)); // 2 MiB
      const save = join(mnt, "s.npy");
      layer.spaceLeft = 1 << 20;
      await assert.rejects(
        saveNpy(save, new Float64Array(1 << 18)),
        (e) => checkFull(e, "write", save),
      );
      assert.throws(
        () => saveNpySync(save, new Float64Array(1 << 18)),
        (e) => checkFull(e, "write", save),
      );
      const out = join(mnt, "c.npy");
      let err = "";
      const code = await main(["concat", out, big], {
        stdout: () => {},
        stderr: (t) => void (err += t),
      });
      assert.equal(code, 1);
      assert.equal(
        err,
        `npy concat: Cannot write ${JSON.stringify(out)}: no space left on the device (ENOSPC)\n`,
      );
      assert.deepEqual(readdirSync(mnt), [], "a temp or lock file is left");

      // A dead writer's file there, with a cut append; saveNpy over it fails: its record stays.
      const dead = join(mnt, "w.npy");
      layer.spaceLeft = Infinity;
      const w = NpyAppendArray.openSync(dead, { descr: "<i8", shape: [4] });
      w.appendSync(rowsFrom(0, 2));
      w.closeSync();
      writeFileSync(dead, rowsFrom(2, 1).subarray(0, 3), { flag: "a" });
      const record = {
        pid: 2 ** 22 + 7,
        host: hostname(),
        runtime: "node 20",
        time: "x",
        commit: "header",
      };
      writeFileSync(dead + ".lock", JSON.stringify(record));
      layer.spaceLeft = 1 << 20;
      await assert.rejects(
        saveNpy(dead, new Float64Array(1 << 18)),
        (e) => checkFull(e, "write", dead),
      );
      assert.deepEqual(JSON.parse(readFileSync(dead + ".lock", "utf8")), record);
      assert.deepEqual(recoverSync(dead, { dryRun: true }), {
        rows: 2,
        droppedBytes: 24,
        addedBytes: 0,
      });

      // Now fill the disk: the lock file is made but its record cannot be written.
      layer.spaceLeft = 0;
      if (mounted) {
        try {
          writeFileSync(join(mnt, "filler"), new Uint8Array(1 << 20));
        } catch {
          // Full.
        }
      }
      const fresh = join(mnt, "n.npy");
      assert.throws(() => NpyAppendArray.openSync(fresh), (e) => checkFull(e, "open", fresh));
      assert.throws(() => saveNpySync(fresh, [1, 2]), (e) => checkFull(e, "write", fresh));
      assert.deepEqual(
        readdirSync(mnt).filter((n) => !["w.npy", "w.npy.lock", "filler"].includes(n)),
        [],
        "an empty lock file or a temp file is left",
      );
      console.log(
        `disk full in saveNpy, concat, the lock: ran on ${
          mounted ? "a real 1 MiB tmpfs" : "the fault layer"
        }`,
      );
    } finally {
      layer.uninstall();
      if (mounted) unmount(mnt);
      rmSync(mnt, { recursive: true, force: true });
      cleanup();
    }
  },
);

test(
  "EIO on a data write, a header write or a datasync: 10 faults, typed errors, the file keeps every acknowledged row",
  LIMIT,
  async () => {
    const { dir, cleanup } = fastTempDir("npy-eio-");
    const checks: PrefixCheck[] = [];
    let faults = 0;
    try {
      for (const sync of ["none", "append"] as const) {
        for (const where of ["data", "header", "datasync"] as const) {
          if (where === "datasync" && sync === "none") continue;
          for (const api of ["async", "sync"] as const) {
            const path = join(dir, `eio-${sync}-${where}-${api}.npy`);
            const layer = new FaultyFileSystem((p) => p === path);
            let armed = false;
            layer.inject = (op) => {
              if (!armed) return undefined;
              if (where === "datasync" ? op.kind !== "datasync" : op.kind !== "write") return;
              if (where === "data" && op.position === 0) return;
              if (where === "header" && op.position !== 0) return;
              armed = false;
              return "EIO";
            };
            let acked = 0;
            await withLayer(layer, async () => {
              const w = await NpyAppendArray.open(path, {
                descr: "<i8",
                shape: [4],
                durability: sync,
              });
              for (let n = 0; n < 5; n++) {
                await w.append(rowsFrom(w.rows, 3));
                acked = w.rows;
              }
              armed = true;
              const failing = () =>
                api === "sync"
                  ? Promise.resolve().then(() => w.appendSync(rowsFrom(acked, 2)))
                  : w.append(rowsFrom(acked, 2));
              await assert.rejects(failing(), (e: Error & { code?: string }) => {
                assert.ok(e instanceof NpyIOError);
                assert.equal(e.code, "EIO");
                assert.equal(e.path, path);
                assert.equal((e.cause as { code?: string }).code, "EIO");
                assert.match(e.message, /^Cannot append to ".*eio-.*\.npy": .*\(EIO\)$/);
                return true;
              });
              await assert.rejects(w.append(rowsFrom(acked, 1)), /an earlier write failed/);
              await w.close();
            });
            faults += layer.faultCount;
            assert.equal(existsSync(path + ".lock"), false);
            const rows = prefixRows(readFileSync(path));
            // A failed header write leaves the old header: the new rows are not claimed.
            assert.ok(rows === acked || (where !== "data" && rows === acked + 2), `${rows}`);
            checks.push({ path, kind: "i8", atLeast: acked });
          }
        }
      }
      assert.equal(faults, 10);
      const results = checkPrefixes(checks);
      assert.ok(results.every((r) => typeof r === "number"), JSON.stringify(results));
    } finally {
      cleanup();
    }
  },
);

test(
  "EIO while recover() rewrites: a typed system error, and recover() succeeds afterwards",
  LIMIT,
  async () => {
    const { dir, cleanup } = fastTempDir("npy-eio-rec-");
    try {
      const path = join(dir, "r.npy");
      const w = NpyAppendArray.openSync(path, { descr: "<i8", shape: [4] });
      w.appendSync(rowsFrom(0, 10));
      w.closeSync();
      const whole = readFileSync(path);
      for (const op of ["write", "truncate", "datasync"] as const) {
        writeFileSync(path, whole.subarray(0, whole.length - 40)); // 8 whole rows and a half
        const layer = new FaultyFileSystem((p) => p === path);
        layer.inject = (o) => o.kind === op ? "EIO" : undefined;
        await withLayer(layer, async () => {
          await assert.rejects(recover(path), (e: Error & { code?: string }) => e.code === "EIO");
        });
        assert.equal(existsSync(path + ".lock"), false);
        assert.deepEqual(await recover(path), { rows: 8, droppedBytes: 24, addedBytes: 0 });
        assert.equal(prefixRows(readFileSync(path)), 8);
      }
    } finally {
      cleanup();
    }
  },
);

test(
  "permission denied and read-only file systems: clear errors, nothing changed",
  LIMIT,
  async () => {
    const { dir, cleanup } = fastTempDir("npy-perm-");
    const ran: string[] = [];
    try {
      const path = join(dir, "p.npy");
      const w = NpyAppendArray.openSync(path, { descr: "<i8", shape: [4] });
      w.appendSync(rowsFrom(0, 3));
      w.closeSync();
      const before = readFileSync(path);
      // 1. The fault layer: EACCES opening the file (tests run as root, so chmod denies
      //    nothing), then EACCES creating files (a read-only directory).
      const layer = new FaultyFileSystem((p) => p.startsWith(dir));
      layer.inject = (op) => op.kind === "open" && op.path === path ? "EACCES" : undefined;
      await withLayer(layer, async () => {
        await assert.rejects(NpyAppendArray.open(path), (e: Error & { code?: string }) => {
          assert.equal(e.code, "EACCES");
          assert.match(e.message, /p\.npy/);
          return true;
        });
        assert.throws(() => NpyReader.openSync(path), { code: "EACCES" });
        assert.throws(() => recoverSync(path), { code: "EACCES" });
      });
      assert.equal(existsSync(path + ".lock"), false);
      layer.inject = (op) =>
        op.kind === "open" && (op.flags === "wx+" || op.flags === "w+") ? "EACCES" : undefined;
      layer.match = () => true;
      await withLayer(layer, async () => {
        // The lock cannot be made: the error says so and how to go on.
        await assert.rejects(NpyAppendArray.open(path), (e: Error) => {
          assert.ok(e instanceof NpyLockError);
          assert.match(e.message, /lock file ".*p\.npy\.lock" cannot be created.*lock: false/);
          assert.equal(e.code, "EACCES");
          return true;
        });
        // Without the lock, an existing file can be appended to; a new one cannot be made.
        const u = await NpyAppendArray.open(path, { lock: false });
        await u.append(rowsFrom(3, 1));
        await u.close();
        await assert.rejects(
          NpyAppendArray.open(join(dir, "new.npy"), { lock: false }),
          { code: "EACCES" },
        );
      });
      assert.equal(prefixRows(readFileSync(path)), 4);
      assert.equal(existsSync(join(dir, "new.npy")), false);
      ran.push(`the fault layer (${layer.faultCount} EACCES)`);
      // 2. A real read-only bind mount of the directory, when this process may mount.
      const ro = mkdtempSync(join(tmpdir(), "npy-ro-"));
      if (tryMount(["--bind", dir, ro])) {
        try {
          if (tryMount(["-o", "remount,bind,ro", ro])) {
            const roPath = join(ro, "p.npy");
            const snapshot = readFileSync(path);
            await assert.rejects(NpyAppendArray.open(roPath), (e: Error) => {
              assert.ok(e instanceof NpyLockError);
              assert.match(e.message, /EROFS/);
              assert.equal(e.code, "EROFS");
              return true;
            });
            await assert.rejects(NpyAppendArray.open(roPath, { lock: false }), { code: "EROFS" });
            writeFileSync(path, Uint8Array.of(1), { flag: "a" }); // needs recovery now
            await assert.rejects(recover(roPath, { lock: false }), { code: "EROFS" });
            truncateSync(path, snapshot.length);
            assert.equal(loadNpySync(roPath).shape[0], 4); // reading still works
            assert.deepEqual(readFileSync(path), snapshot);
            ran.push("a read-only bind mount (EROFS)");
          }
        } finally {
          unmount(ro);
        }
      }
      rmSync(ro, { recursive: true, force: true });
      void before;
      console.log(`permission denied / read-only: ran on ${ran.join(" and ")}`);
    } finally {
      cleanup();
    }
  },
);

test(
  "the file deleted or cut by someone else under a live writer; a directory in its place",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-gone-");
    try {
      // Deleted: the writer keeps writing to the unlinked file (POSIX), closes cleanly, does
      // not bring the name back, and releases the lock.
      const gone = join(dir, "gone.npy");
      const w = await NpyAppendArray.open(gone, { descr: "<i8", shape: [4] });
      await w.append(rowsFrom(0, 2));
      unlinkSync(gone);
      await w.append(rowsFrom(2, 2));
      await w.close();
      assert.equal(existsSync(gone), false);
      assert.equal(existsSync(gone + ".lock"), false);

      // Cut: the writer writes at its own offsets, so the cut rows come back as zeros (it
      // cannot know); the file stays a valid .npy that NumPy loads, later rows intact.
      const cut = join(dir, "cut.npy");
      const c = await NpyAppendArray.open(cut, { descr: "<i8", shape: [4] });
      await c.append(rowsFrom(0, 4));
      const headerLength = readFileSync(cut).length - 4 * 32;
      truncateSync(cut, headerLength + 32 + 5); // someone cuts it to 1 row and 5 bytes
      await c.append(rowsFrom(4, 2));
      await c.close();
      const a = loadNpySync(cut);
      assert.deepEqual(a.shape, [6, 4]);
      const data = a.data as BigInt64Array;
      assert.deepEqual([...data.subarray(0, 4)], [0n, 0n, 0n, 0n]);
      assert.equal(data[5 * 4 + 3], 20n); // row 5 = [5, 10, 15, 20]
      assert.equal(data[2 * 4], 0n); // row 2 was cut: zeros

      // A directory where the file should be: a system error naming it, no lock left.
      const d = join(dir, "isdir.npy");
      mkdirSync(d);
      await assert.rejects(NpyAppendArray.open(d), (e: Error & { code?: string }) => {
        assert.equal(e.code, "EISDIR");
        assert.match(e.message, /isdir\.npy/);
        return true;
      });
      assert.equal(existsSync(d + ".lock"), false);
      assert.throws(() => recoverSync(d), { code: "EISDIR" });
      assert.throws(() => NpyReader.openSync(d), { code: "EISDIR" });
      assert.equal(existsSync(d + ".lock"), false);
    } finally {
      cleanup();
    }
  },
);

test(
  "recover() and ensureAppendable() refuse a file a live writer holds, naming it",
  LIMIT,
  async () => {
    const { dir, cleanup } = fastTempDir("npy-replock-");
    const mod = await import("../mod.ts");
    try {
      const path = join(dir, "held.npy");
      const w = await NpyAppendArray.open(path, { descr: "<i8", shape: [4] });
      await w.append(rowsFrom(0, 3));
      writeFileSync(path, Uint8Array.of(1), { flag: "a" }); // needs recovery now
      const before = readFileSync(path);
      const refused = (e: Error) => {
        assert.ok(e instanceof NpyLockError);
        assert.equal(e.holder?.pid, (globalThis as { process?: { pid: number } }).process?.pid);
        assert.match(
          e.message,
          // The holder is a writer of this very process, and the message says so.
          /^Cannot (recover|make) ".*held\.npy"( appendable)?: this process \(pid \d+\) already holds/,
        );
        return true;
      };
      await assert.rejects(mod.recover(path), refused);
      assert.throws(() => mod.recoverSync(path), refused);
      await assert.rejects(mod.ensureAppendable(path), refused);
      assert.throws(() => mod.ensureAppendableSync(path), refused);
      // A dry run writes nothing, not even a lock file: it is allowed.
      const dry = await mod.recover(path, { dryRun: true });
      assert.deepEqual(dry, { rows: 3, droppedBytes: 1, addedBytes: 0 });
      assert.deepEqual(readFileSync(path), before);
      assert.equal(existsSync(path + ".lock"), true); // still the writer's
      await w.close();
      assert.deepEqual(await mod.recover(path), { rows: 3, droppedBytes: 1, addedBytes: 0 });
      assert.equal(existsSync(path + ".lock"), false);
      // A writer in another process: refused, naming its pid; once it is gone, allowed.
      const other = join(dir, "other.npy");
      const child = new Child(RUNTIME, {
        task: "append",
        path: other,
        kind: "i8",
        durability: "none",
        api: "sync",
        maxChunk: 4,
        maxRows: 10,
        seed: 1,
      });
      try {
        assert.equal(await child.waitFor("full"), "full");
        writeFileSync(other, Uint8Array.of(1), { flag: "a" });
        assert.throws(() => mod.recoverSync(other), (e: Error) => {
          assert.ok(e instanceof NpyLockError);
          assert.equal(e.holder?.pid, child.process.pid);
          return true;
        });
        await assert.rejects(mod.ensureAppendable(other), NpyLockError);
      } finally {
        await child.kill();
      }
      assert.equal((await mod.recover(other)).droppedBytes, 1); // its lock is taken over
      assert.equal(existsSync(other + ".lock"), false);
    } finally {
      cleanup();
    }
  },
);

test("fault totals", LIMIT, () => {
  console.log(`faults injected by the layer in this file: ${JSON.stringify(faultTotals)}`);
});

test("rename, link, remove and directory-fsync faults: a replace leaves the old file or the new one, and its lock released", async () => {
  const { dir, cleanup } = makeTempDir("npy-fault-paths-");
  try {
    const path = join(dir, "a.npy");
    const old = Float64Array.of(1, 2, 3);
    const fresh = Float64Array.of(4, 5, 6, 7);
    const reset = () => saveNpySync(path, old);
    const leftovers = () => readdirSync(dir).filter((f) => f !== "a.npy");
    const cases: Array<[string, FileOp["kind"][], "old" | "new"]> = [
      ["rename fails", ["rename"], "old"],
      ["rename and the temp file's removal fail", ["rename", "remove"], "old"],
      ["the directory fsync after the rename fails", ["fsyncDir"], "new"],
    ];
    for (const [label, kinds, left] of cases) {
      for (const sync of [true, false]) {
        reset();
        const before = readFileSync(path);
        const layer = new FaultyFileSystem((p) => p === path);
        layer.inject = (op) => kinds.includes(op.kind) ? "EIO" : undefined;
        const [error] = await withLayer(layer, async () => {
          try {
            if (sync) saveNpySync(path, fresh);
            else await saveNpy(path, fresh);
            return [undefined];
          } catch (e) {
            return [e];
          }
        });
        const what = `${label} (${sync ? "saveNpySync" : "saveNpy"})`;
        assert.ok(error instanceof NpyIOError, `${what}: ${error}`);
        assert.equal(error.code, "EIO", what);
        assert.equal(error.path, path, what);
        assert.equal(layer.faults.EIO, kinds.length, `${what}: every injected fault was reached`);
        if (left === "old") assert.deepEqual(readFileSync(path), before, what);
        else assert.deepEqual(loadNpySync(path).data, fresh, what);
        // The lock is released (a writer can open the file); only a temp file whose
        // removal failed may stay.
        const rest = leftovers();
        if (kinds.includes("remove")) {
          assert.equal(rest.length, 1, `${what}: ${rest}`);
          assert.match(rest[0] ?? "", /^\.a\.npy\.[a-z0-9]+\.tmp$/);
          rmSync(join(dir, rest[0] ?? ""));
        } else {
          assert.deepEqual(rest, [], what);
        }
        NpyAppendArray.openSync(path).closeSync();
      }
    }
  } finally {
    cleanup();
  }
});

test("a writer's new file that cannot be published (link and rename fail) leaves the old file as it was", async () => {
  const { dir, cleanup } = makeTempDir("npy-fault-publish-");
  try {
    const path = join(dir, "a.npy");
    saveNpySync(path, Float32Array.of(1, 2));
    const before = readFileSync(path);
    const layer = new FaultyFileSystem((p) => p === path);
    layer.inject = (op) => op.kind === "rename" || op.kind === "link" ? "EIO" : undefined;
    const error = await withLayer(layer, async () => {
      const w = await NpyAppendArray.open(path, { mode: "overwrite", descr: "<f4" });
      try {
        await w.append(Float32Array.of(9, 9, 9));
      } catch (e) {
        await w.close().catch(() => {});
        return e;
      }
      await w.close();
      return undefined;
    });
    assert.ok(error instanceof NpyIOError && error.code === "EIO", String(error));
    assert.equal(error.path, path);
    assert.ok((layer.faults.EIO ?? 0) >= 1);
    assert.deepEqual(readFileSync(path), before);
  } finally {
    cleanup();
  }
});

test("a new file's directory is flushed (its name made durable) at close, or at its first header with durability append", async () => {
  const { dir, cleanup } = makeTempDir("npy-fault-dirsync-");
  try {
    for (const durability of ["none", "close", "append"] as const) {
      const path = join(dir, `${durability}.npy`);
      const layer = new FaultyFileSystem((p) => p === path);
      const seen: string[] = [];
      layer.inject = (op) => {
        if (op.kind === "fsyncDir") seen.push(op.kind);
        return op.kind === "fsyncDir" ? "EIO" : undefined;
      };
      const outcome = await withLayer(layer, async () => {
        const w = await NpyAppendArray.open(path, { durability, descr: "<f4" });
        try {
          await w.append(Float32Array.of(1, 2));
        } catch (e) {
          await w.close().catch(() => {});
          return { at: "append", error: e };
        }
        try {
          await w.close();
        } catch (e) {
          return { at: "close", error: e };
        }
        return { at: "none", error: undefined };
      });
      const expected = { none: "none", close: "close", append: "append" }[durability];
      assert.equal(outcome.at, expected, `${durability}: ${outcome.error}`);
      assert.equal(seen.length, durability === "none" ? 0 : 1, durability);
      if (durability !== "none") {
        assert.ok(outcome.error instanceof NpyIOError, String(outcome.error));
        assert.equal(outcome.error.code, "EIO");
        assert.equal(outcome.error.path, path);
      }
      // An append that failed is not in the file; one acknowledged is, whatever the flush did.
      const rows = durability === "append" ? [] : [1, 2];
      assert.deepEqual(loadNpySync(path).data, Float32Array.from(rows), durability);
      assert.equal(existsSync(path + ".lock"), false, `${durability}: the lock is released`);
    }
  } finally {
    cleanup();
  }
});

test("taking a dead writer's lock over replaces it in one rename: a failure (or a kill) at any step keeps its trace", async () => {
  const { dir, cleanup } = makeTempDir("npy-fault-takeover-");
  try {
    const path = join(dir, "w.npy");
    const w = NpyAppendArray.openSync(path, { descr: "<i8", shape: [4] });
    w.appendSync(rowsFrom(0, 2));
    w.closeSync();
    writeFileSync(path, rowsFrom(2, 1).subarray(0, 20), { flag: "a" }); // a cut append
    const record = { pid: 2 ** 22 + 7, host: hostname(), runtime: "node 20", time: "x" };
    const dead = JSON.stringify({ ...record, commit: "header" });
    for (const kind of ["open", "write", "rename"] as const) {
      writeFileSync(path + ".lock", dead);
      // Every step of the takeover on the lock (its temp file counts as the lock) fails once.
      const layer = new FaultyFileSystem((p) => p === path + ".lock");
      let failed = false;
      layer.inject = (op) => !failed && op.kind === kind ? (failed = true, "EIO") : undefined;
      const error = await withLayer(layer, () => {
        try {
          NpyAppendArray.openSync(path, { onRecovery: "truncate" }).closeSync();
        } catch (e) {
          return e;
        }
        return undefined;
      });
      assert.ok(failed, `${kind}: the fault was reached`);
      assert.ok(error instanceof Error && /EIO/.test(String(error)), `${kind}: ${error}`);
      // The dead writer's record is still there, so recovery still rolls back to its header.
      assert.equal(readFileSync(path + ".lock", "utf8"), dead, kind);
      assert.deepEqual(
        readdirSync(dir).filter((n) => n.endsWith(".takeover")),
        [],
        `${kind}: no takeover file left`,
      );
      assert.equal(recoverSync(path, { dryRun: true }).rows, 2, kind);
    }
    // Without faults the takeover keeps the mark and rolls the cut append back.
    const w2 = NpyAppendArray.openSync(path, { onRecovery: "truncate" });
    assert.equal(w2.rows, 2);
    w2.closeSync();
  } finally {
    cleanup();
  }
});
