/**
 * What every writer of chunks offers on top of its `append` and `close`, written once:
 * `appendFrom` (an iterable of chunks) and `writable` (a `WritableStream` of chunks).
 * `NpyAppendArray` and `NpyStackWriter` both use it. Internal.
 *
 * @module
 */

import type { NpyChunk } from "./npy.ts";

/** A writer of chunks: its row count, `append` and `close`. */
export interface ChunkSink {
  /** Rows appended so far. */
  readonly rows: number;
  /** Appends the rows of `chunk`; settles when they are written (or buffered). */
  append(chunk: NpyChunk): Promise<void>;
  /** Closes the writer. */
  close(): Promise<void>;
}

/**
 * Appends every chunk `chunks` yields to `sink`, in order, awaiting each.
 * @returns The number of rows appended.
 */
export async function appendAll(
  sink: ChunkSink,
  chunks: AsyncIterable<NpyChunk> | Iterable<NpyChunk>,
): Promise<number> {
  const before = sink.rows;
  for await (const chunk of chunks) await sink.append(chunk);
  return sink.rows - before;
}

/**
 * A `WritableStream` that appends each chunk to `sink`, with backpressure (up to 16 chunks
 * queued); closing or aborting the stream closes the writer.
 */
export function chunkStream(sink: ChunkSink): WritableStream<NpyChunk> {
  return new WritableStream<NpyChunk>({
    write: (chunk) => sink.append(chunk),
    close: () => sink.close(),
    abort: () => sink.close(),
  }, { highWaterMark: 16 });
}
