/**
 * Internal to the `npy` command: what it knows about a `.npy` file, from an {@link NpyReader}
 * opened with `allowTruncated` (a cut file is inspected, not refused).
 *
 * @module
 */

import { fileSizeSync } from "../lib/file.ts";
import type { NpyHeader } from "../lib/header.ts";
import { NpyReader } from "../lib/reader.ts";
import { type Io, isSystemError } from "./io.ts";

/** Facts about a file: its header, as the reader read it, and how much of its data is there. */
export interface Facts {
  readonly path: string;
  readonly header: NpyHeader;
  /** The shape, every dimension a number (the reader refuses others). */
  readonly shape: readonly number[];
  readonly fileBytes: number;
  /** Data bytes the header claims. */
  readonly dataBytes: number;
  readonly rowBytes: number;
  readonly rows: number;
  /** Rows whose bytes are all in the file. */
  readonly availableRows: number;
  /** Data bytes in the file (past the header). */
  readonly actualBytes: number;
}

/**
 * Opens `path` for reading with the command's registry and header limit; a cut file opens
 * too. A system error comes out as the system raised it (the command words it with the call
 * that failed: `Cannot open "x.npy": no such file or directory (ENOENT)`).
 */
export async function openReader(path: string, io: Io): Promise<NpyReader> {
  try {
    return await NpyReader.open(path, {
      registry: io.registry,
      maxHeaderSize: io.maxHeaderSize,
      allowTruncated: true,
    });
  } catch (e) {
    const raw = e instanceof Error && isSystemError(e.cause) ? e.cause : e;
    // A system error from a read (EISDIR) names no file: name it.
    if (isSystemError(raw)) raw.path ??= path;
    throw raw;
  }
}

/** The facts an open reader knows. */
export function factsOf(reader: NpyReader): Facts {
  const header = reader.header;
  // The reader keeps the file size it read with the header to itself: ask the file system.
  const fileBytes = fileSizeSync(reader.path);
  return {
    path: reader.path,
    header,
    shape: reader.shape,
    fileBytes,
    dataBytes: reader.rows * reader.rowBytes,
    rowBytes: reader.rowBytes,
    rows: reader.rows,
    availableRows: reader.availableRows,
    actualBytes: Math.max(0, fileBytes - header.headerLength),
  };
}

/** The facts about `path` (the file is closed again). */
export async function inspect(path: string, io: Io): Promise<Facts> {
  await using reader = await openReader(path, io);
  return factsOf(reader);
}

/** The facts about each of `paths`, in order. */
export async function inspectAll(paths: readonly string[], io: Io): Promise<Facts[]> {
  const out: Facts[] = [];
  for (const path of paths) out.push(await inspect(path, io));
  return out;
}

/** Whether the data is not what the header claims: cut short, or with bytes past it. */
export function needsRecovery(f: Facts): boolean {
  return f.actualBytes !== f.dataBytes;
}

/** Why a file needs recovery, for messages. */
export function recoveryText(f: Facts): string {
  return `the data is ${f.actualBytes} bytes but the header claims ${f.dataBytes}`;
}
