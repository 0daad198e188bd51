/**
 * Helpers for the crash, fault and concurrency tests: spawning `_crash_child.ts` with a
 * runtime (the current one by default; deno, bun and node for the long variants), a
 * fault-injecting file layer for `lib/file.ts`, and one NumPy call that checks many files
 * written with the known row content of the child.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type FileSystem, NODE_FILE_SYSTEM, type OpenFlags, setFileSystem } from "../lib/file.ts";
import { ROOT, runPython } from "./_util.ts";
import type { RowKind } from "./_crash_child.ts";

export type { RowKind };

/** A JavaScript runtime. */
export type Runtime = "deno" | "bun" | "node";

/** The runtime running the tests. */
export const RUNTIME: Runtime = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** Whether the long variants run (`NPY_LONG_TESTS=1`). */
export const LONG: boolean = process.env.NPY_LONG_TESTS === "1";

/** Test options: a time limit above bun's 5 s default, generous for the long variants. */
export const LIMIT: { timeout: number } = { timeout: LONG ? 1_800_000 : 120_000 };

const BUILT = fileURLToPath(import.meta.url).endsWith(".js");

/**
 * How to run the child script with `runtime`: the binary and its arguments before the
 * JSON argument; `undefined` when that runtime (or node's build) is not available.
 */
export function childCommand(runtime: Runtime = RUNTIME): [string, string[]] | undefined {
  if (runtime === "node") {
    const script = BUILT
      ? fileURLToPath(new URL("./_crash_child.js", import.meta.url))
      : join(ROOT, "dist", "tests", "_crash_child.js");
    if (!existsSync(script)) return undefined;
    const bin = RUNTIME === "node" ? process.execPath : "node";
    return [bin, [script]];
  }
  const script = join(ROOT, "tests", "_crash_child.ts");
  let bin: string | undefined = runtime === RUNTIME ? process.execPath : undefined;
  if (bin === undefined) {
    const local = join(ROOT, "node_modules", ".bin", runtime);
    bin = existsSync(local) ? local : undefined;
  }
  if (bin === undefined) return undefined;
  return runtime === "deno" ? [bin, ["run", "-A", script]] : [bin, [script]];
}

/**
 * How to run the `npy` command with `runtime`: `deno run -A cli.ts`, `bun cli.ts`, or node on
 * its build (`dist/cli.js`); `undefined` when that runtime (or the build) is not available.
 */
export function cliCommand(runtime: Runtime = RUNTIME): [string, string[]] | undefined {
  const child = childCommand(runtime);
  const cli = join(ROOT, ...(runtime === "node" ? ["dist", "cli.js"] : ["cli.ts"]));
  if (child === undefined || !existsSync(cli)) return undefined;
  return [child[0], runtime === "deno" ? ["run", "-A", cli] : [cli]];
}

/** A running child: its lines so far, and promises for what it prints and its exit. */
export class Child {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;
  #waiters: Array<{ test: (line: string) => boolean; resolve: (line: string) => void }> = [];
  #partial = "";

  constructor(runtime: Runtime, args: unknown) {
    const command = childCommand(runtime);
    if (command === undefined) throw new Error(`Cannot run a ${runtime} child here`);
    const [bin, pre] = command;
    this.process = spawn(bin, [...pre, JSON.stringify(args)], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    this.exited = new Promise((resolve) => this.process.on("exit", (code) => resolve(code)));
    this.process.stdout!.on("data", (d: Uint8Array) => {
      const text = this.#partial + new TextDecoder().decode(d);
      const parts = text.split("\n");
      this.#partial = parts.pop()!;
      for (const line of parts) {
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.test(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    });
    this.process.stderr!.on("data", (d: Uint8Array) => this.stderr += new TextDecoder().decode(d));
  }

  /**
   * Resolves with the first line (past or future) starting with `prefix` (or one of them)
   * or with `error`; rejects when the child exits without one, or after `timeoutMs`.
   */
  waitFor(prefix: string | string[], timeoutMs = 20_000): Promise<string> {
    const prefixes = [...(typeof prefix === "string" ? [prefix] : prefix), "error "];
    const test = (l: string) => prefixes.some((p) => l.startsWith(p));
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child never printed "${prefix}": ${this.lines} ${this.stderr}`)),
        timeoutMs,
      );
      const done = (line: string) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.#waiters.push({ test, resolve: done });
      this.exited.then(() => {
        setTimeout(() => {
          clearTimeout(timer);
          const line = this.lines.find(test);
          if (line !== undefined) resolve(line);
          else reject(new Error(`child exited before "${prefix}": ${this.lines} ${this.stderr}`));
        }, 20);
      });
    });
  }

  /** Writes `line` to the child's stdin. */
  send(line: string): void {
    this.process.stdin!.write(line + "\n");
  }

  /** Kills the child with SIGKILL and waits for it to be gone. */
  async kill(): Promise<void> {
    this.process.kill("SIGKILL");
    await this.exited;
  }

  /** The largest row count the child acknowledged (`ack N`), or its opening count. */
  get acked(): number {
    let n = 0;
    for (const line of this.lines) {
      if (line.startsWith("ack ") || line.startsWith("open ")) {
        n = Math.max(n, Number(line.slice(line.indexOf(" ") + 1)));
      }
    }
    return n;
  }
}

/** A file the crash tests check: NumPy must load it as a prefix of the known rows. */
export interface PrefixCheck {
  /** The file. */
  path: string;
  /** The content of its rows. */
  kind: RowKind;
  /** Rows it must hold at least. */
  atLeast: number;
  /** Every append was this many rows: the count must be a multiple of it. */
  multipleOf?: number | undefined;
}

const PREFIX_CHECK = `
cases = json.load(sys.stdin)
out = []
for c in cases:
    try:
        a = np.load(c["path"], mmap_mode="r")
        n = a.shape[0]
        i = np.arange(n)
        if c["kind"] == "i8":
            ok = a.dtype == np.dtype("<i8") and a.shape == (n, 4) and (a == i[:, None] * np.arange(1, 5)).all()
        elif c["kind"] == "record":
            ok = (a.dtype == np.dtype([("i", "<i8"), ("x", "<f8"), ("s", "S4")]) and a.ndim == 1
                  and (a["i"] == i).all() and (a["x"] == i * 0.5).all()
                  and (a["s"] == np.char.encode((i % 10000).astype(str), "ascii")).all())
        else:
            ok = a.dtype == np.dtype("<f8") and a.shape == (n, 3) and (a == np.stack([i, i + 0.25, -i], 1)).all()
        if not ok:
            out.append(f"rows are not the appended prefix: {a.dtype} {a.shape}")
        elif n < c["atLeast"]:
            out.append(f"{n} rows, but {c['atLeast']} were acknowledged")
        elif c.get("multipleOf") and n % c["multipleOf"] != 0:
            out.append(f"{n} rows: part of a batch of {c['multipleOf']} (not a multiple)")
        else:
            out.append(n)
        del a
    except Exception as ex:
        out.append(f"{type(ex).__name__}: {ex}")
print(json.dumps(out))
`;

/**
 * Checks every file in one NumPy call (`mmap_mode="r"`): its rows must be exactly the
 * first rows of the known content, at least `atLeast` of them.
 * @returns Per file: the row count, or what is wrong (a string).
 */
export function checkPrefixes(checks: PrefixCheck[]): Array<number | string> {
  if (checks.length === 0) return [];
  return runPython<Array<number | string>>(PREFIX_CHECK, checks);
}

/** Rows `from..to-1` of the pair rows the stack tests append: `<i8` rows of 2, row i = (2i, 2i+1). */
export function pairRows(from: number, to: number): { data: BigInt64Array; shape: number[] } {
  const data = BigInt64Array.from({ length: 2 * (to - from) }, (_, i) => BigInt(2 * from + i));
  return { data, shape: [to - from, 2] };
}

/**
 * The rows of each stack in `dirs` as NumPy reads its listed shards joined (`stack.json`), when
 * they are exactly the first pair rows ({@link pairRows}); else what is wrong (a string).
 */
export function numpyStackRows(dirs: string[]): Array<number | string> {
  return runPython(
    `
out = []
for d in json.load(sys.stdin):
    shards = json.load(open(d + "/stack.json"))["shards"]
    parts = [np.load(f"{d}/{i}.npy", mmap_mode="r") for i in range(len(shards))]
    a = np.concatenate(parts) if parts else np.zeros((0, 2), "<i8")
    n = a.shape[0]
    ok = a.dtype == np.dtype("<i8") and a.shape == (n, 2) and (a.reshape(-1) == np.arange(2 * n)).all()
    out.append(n if ok and n == sum(shards) else f"not the first rows: {a.dtype} {a.shape} {shards}")
print(json.dumps(out))
`,
    dirs,
  );
}

/** Whether this process may mount file systems (root with CAP_SYS_ADMIN). */
export function tryMount(args: string[]): boolean {
  const r = spawnSync("mount", args, { encoding: "utf8" });
  return r.status === 0;
}

/** Unmounts `dir` (lazily, so a file left open cannot keep it busy). */
export function unmount(dir: string): void {
  spawnSync("umount", ["-l", dir]);
}

// ---------------------------------------------------------------------------------------
// The fault-injecting file layer

/** One operation on a file, as the fault layer sees it. */
export interface FileOp {
  /**
   * `open`, `write` (positional), `truncate`, `datasync` (also fsync), `read`, `close`; and
   * on paths: `rename` (to the file), `link` (to it), `remove`, `fsyncDir` (its directory).
   */
  kind:
    | "open"
    | "write"
    | "truncate"
    | "datasync"
    | "read"
    | "close"
    | "rename"
    | "link"
    | "remove"
    | "fsyncDir";
  /** The file's path (a temp file beside a watched file counts as that file). */
  path: string;
  /** For rename and link: the path the file had. */
  from?: string;
  /** For open: the flags. */
  flags?: OpenFlags;
  /** For write/read: the position; for truncate: the new length. */
  position?: number;
  /** For write/read: the byte count. */
  length?: number;
}

/** What the journal of a file recorded, for power-loss images. */
export type JournalEntry =
  | { kind: "write"; position: number; bytes: Uint8Array }
  | { kind: "truncate"; length: number }
  | { kind: "sync" };

/** Every fault injected by any layer in this process (for the reports). */
export const faultTotals: Record<string, number> = {};

function errnoError(code: string, syscall: string, path: string): Error {
  const text: Record<string, string> = {
    ENOSPC: "no space left on device",
    EIO: "i/o error",
    EACCES: "permission denied",
    EROFS: "read-only file system",
    EISDIR: "illegal operation on a directory",
  };
  return Object.assign(new Error(`${code}: ${text[code] ?? code}, ${syscall} '${path}'`), {
    code,
    syscall,
    path,
  });
}

/** The file a temp file `.<name>.<tag>.tmp` beside it stands for; else `path` itself. */
function logicalPath(path: string): string {
  const m = /^(.*[\\/])?\.([^\\/]+)\.[a-z0-9]+\.tmp$/.exec(path);
  return m === null ? path : (m[1] ?? "") + m[2];
}

/**
 * A {@link FileSystem} over the real one that records what is written to matching files
 * (a journal per path, for power-loss images), can run out of space after a byte budget
 * (a short write, then `ENOSPC`, as a full disk does), and fails any operation for which
 * `inject` returns an error code. Install it with {@link FaultyFileSystem.install}.
 */
export class FaultyFileSystem implements FileSystem {
  /** Which files the layer watches (others pass straight through). */
  match: (path: string) => boolean;
  /** An error code to fail an operation with, or `undefined` to let it run. */
  inject: (op: FileOp) => string | undefined = () => undefined;
  /** Bytes the matching files may still grow by; `Infinity`: no limit. */
  spaceLeft = Infinity;
  /** Faults injected, by code. */
  readonly faults: Record<string, number> = {};
  /** Journals of the matching files, by path. */
  readonly journals = new Map<string, JournalEntry[]>();
  readonly #paths = new Map<number, string>();
  #previous: FileSystem | undefined;

  constructor(match: (path: string) => boolean = (p) => p.endsWith(".npy")) {
    this.match = match;
  }

  /** Makes files opened from now on use this layer; {@link uninstall} undoes it. */
  install(): this {
    this.#previous = setFileSystem(this);
    return this;
  }

  /** Puts the previous layer back. */
  uninstall(): void {
    if (this.#previous !== undefined) setFileSystem(this.#previous);
    this.#previous = undefined;
  }

  /** Faults injected in all. */
  get faultCount(): number {
    return Object.values(this.faults).reduce((a, b) => a + b, 0);
  }

  #check(op: FileOp): void {
    const code = this.inject(op);
    if (code === undefined) return;
    this.faults[code] = (this.faults[code] ?? 0) + 1;
    faultTotals[code] = (faultTotals[code] ?? 0) + 1;
    throw errnoError(code, op.kind, op.path);
  }

  #journal(fd: number): JournalEntry[] | undefined {
    const path = this.#paths.get(fd);
    return path === undefined ? undefined : this.journals.get(path);
  }

  #opened(path: string, flags: OpenFlags, fd: number): void {
    if (!this.match(path)) return;
    this.#paths.set(fd, path);
    if (flags === "w+" || flags === "wx+" || !this.journals.has(path)) {
      // A new (or emptied) file starts a journal; a file opened as it was gets one too,
      // starting from a truncate to its current size (the base image is the file itself).
      const entries: JournalEntry[] = [];
      if (flags === "w+" || flags === "wx+") entries.push({ kind: "truncate", length: 0 });
      this.journals.set(path, entries);
    }
  }

  openSync(path: string, flags: OpenFlags): number {
    // A temp file beside a watched file (a new file before its header, a rewrite) is
    // watched as that file: it is renamed over it.
    const logical = logicalPath(path);
    if (this.match(logical)) this.#check({ kind: "open", path: logical, flags });
    const fd = NODE_FILE_SYSTEM.openSync(path, flags);
    this.#opened(logical, flags, fd);
    return fd;
  }

  open(path: string, flags: OpenFlags, callback: (e: Error | null, fd: number) => void): void {
    try {
      callback(null, this.openSync(path, flags));
    } catch (e) {
      callback(e as Error, -1);
    }
  }

  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number) {
    const path = this.#paths.get(fd);
    if (path !== undefined) this.#check({ kind: "read", path, position, length });
    return NODE_FILE_SYSTEM.readSync(fd, buffer, offset, length, position);
  }

  read(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
    callback: (e: Error | null, n: number, b: Uint8Array) => void,
  ): void {
    let n: number;
    try {
      n = this.readSync(fd, buffer, offset, length, position);
    } catch (e) {
      return callback(e as Error, 0, buffer);
    }
    callback(null, n, buffer);
  }

  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number) {
    const path = this.#paths.get(fd);
    if (path === undefined) return NODE_FILE_SYSTEM.writeSync(fd, buffer, offset, length, position);
    this.#check({ kind: "write", path, position, length });
    if (this.spaceLeft !== Infinity) {
      const size = NODE_FILE_SYSTEM.fstatSync(fd).size;
      const growth = Math.max(0, position + length - Math.max(size, position));
      if (growth > this.spaceLeft) {
        // A full disk: what fits is written (a short write), then ENOSPC.
        const fits = Math.max(0, size - position) + this.spaceLeft;
        if (fits <= 0 || this.spaceLeft === 0) {
          this.faults.ENOSPC = (this.faults.ENOSPC ?? 0) + 1;
          faultTotals.ENOSPC = (faultTotals.ENOSPC ?? 0) + 1;
          throw errnoError("ENOSPC", "write", path);
        }
        length = Math.min(length, fits);
      }
      this.spaceLeft -= Math.max(0, position + length - Math.max(size, position));
    }
    const n = NODE_FILE_SYSTEM.writeSync(fd, buffer, offset, length, position);
    this.#journal(fd)?.push({
      kind: "write",
      position,
      bytes: buffer.slice(offset, offset + n),
    });
    return n;
  }

  write(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
    callback: (e: Error | null, n: number, b: Uint8Array) => void,
  ): void {
    let n: number;
    try {
      n = this.writeSync(fd, buffer, offset, length, position);
    } catch (e) {
      return callback(e as Error, 0, buffer);
    }
    callback(null, n, buffer);
  }

  fstatSync(fd: number): { size: number; mode: number } {
    return NODE_FILE_SYSTEM.fstatSync(fd);
  }

  fstat(fd: number, callback: (e: Error | null, st: { size: number; mode: number }) => void) {
    NODE_FILE_SYSTEM.fstat(fd, callback);
  }

  ftruncateSync(fd: number, length: number): void {
    const path = this.#paths.get(fd);
    if (path !== undefined) this.#check({ kind: "truncate", path, position: length });
    NODE_FILE_SYSTEM.ftruncateSync(fd, length);
    this.#journal(fd)?.push({ kind: "truncate", length });
  }

  fdatasyncSync(fd: number): void {
    const path = this.#paths.get(fd);
    if (path !== undefined) this.#check({ kind: "datasync", path });
    NODE_FILE_SYSTEM.fdatasyncSync(fd);
    this.#journal(fd)?.push({ kind: "sync" });
  }

  fdatasync(fd: number, callback: (e: Error | null) => void): void {
    try {
      this.fdatasyncSync(fd);
    } catch (e) {
      return callback(e as Error);
    }
    callback(null);
  }

  fsyncSync(fd: number): void {
    this.fdatasyncSync(fd);
  }

  fchmodSync(fd: number, mode: number): void {
    NODE_FILE_SYSTEM.fchmodSync(fd, mode);
  }

  closeSync(fd: number): void {
    this.#paths.delete(fd);
    NODE_FILE_SYSTEM.closeSync(fd);
  }

  /** Checks an operation on `path` when the layer watches it (as its logical path). */
  #checkPath(kind: FileOp["kind"], path: string, from?: string): void {
    const logical = logicalPath(path);
    if (this.match(logical)) {
      this.#check(from === undefined ? { kind, path: logical } : { kind, path: logical, from });
    }
  }

  renameSync(from: string, to: string): void {
    this.#checkPath("rename", to, from);
    NODE_FILE_SYSTEM.renameSync(from, to);
  }

  linkSync(from: string, to: string): void {
    this.#checkPath("link", to, from);
    NODE_FILE_SYSTEM.linkSync(from, to);
  }

  removeSync(path: string): void {
    this.#checkPath("remove", path);
    NODE_FILE_SYSTEM.removeSync(path);
  }

  fsyncDirSync(path: string): void {
    this.#checkPath("fsyncDir", path);
    NODE_FILE_SYSTEM.fsyncDirSync(path);
  }
}

/** How a power loss treats the writes not yet synced. */
export interface PowerLossOptions {
  /** Drop the last `n` unsynced writes past the header (position > 0); keep the rest. */
  dropLastData?: number;
  /** Also lose every unsynced write to the header (position 0). @default false */
  dropHeader?: boolean;
  /** Then cut the image to this many bytes (when shorter). */
  cutAt?: number;
}

/**
 * The file a power loss could leave: every write and truncate up to the last sync, then
 * the unsynced ones except those dropped. `base` is the file's content when its journal
 * started (empty for a file the layer saw created).
 * @returns The image and the length that was synced (durable whatever happens).
 */
export function powerLossImage(
  journal: JournalEntry[],
  options: PowerLossOptions = {},
  base: Uint8Array = new Uint8Array(0),
): { image: Uint8Array; syncedLength: number } {
  let lastSync = -1;
  journal.forEach((e, i) => {
    if (e.kind === "sync") lastSync = i;
  });
  const unsyncedData: number[] = [];
  journal.forEach((e, i) => {
    if (i > lastSync && e.kind === "write" && e.position > 0) unsyncedData.push(i);
  });
  const dropped = new Set(unsyncedData.slice(unsyncedData.length - (options.dropLastData ?? 0)));
  let image = base.slice();
  let syncedLength = image.length;
  const apply = (e: JournalEntry) => {
    if (e.kind === "truncate") {
      const next = new Uint8Array(e.length);
      next.set(image.subarray(0, Math.min(e.length, image.length)));
      image = next;
    } else if (e.kind === "write") {
      const end = e.position + e.bytes.length;
      if (end > image.length) {
        const next = new Uint8Array(end);
        next.set(image);
        image = next;
      }
      image.set(e.bytes, e.position);
    }
  };
  journal.forEach((e, i) => {
    if (i <= lastSync) {
      apply(e);
      if (i === lastSync) syncedLength = image.length;
      return;
    }
    if (e.kind === "write" && e.position === 0 && options.dropHeader) return;
    if (dropped.has(i)) return;
    apply(e);
  });
  if (options.cutAt !== undefined && options.cutAt < image.length) {
    image = image.slice(0, options.cutAt);
  }
  return { image, syncedLength };
}

/** A seeded PRNG (mulberry32) for reproducible random tests. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `f` with `layer` installed, always uninstalling it. */
export async function withLayer<T>(layer: FaultyFileSystem, f: () => Promise<T> | T): Promise<T> {
  layer.install();
  try {
    return await f();
  } finally {
    layer.uninstall();
  }
}
