/**
 * The `.npy` header: magic, version 1.0/2.0/3.0, header length and the Python dict that
 * describes the array. Everything the library knows about headers is reached from here:
 *
 * - `header_fields.ts`: the format's constants, the header's fields and what follows from
 *   them (data size, growth axis, the shape of one row);
 * - `parse_header.ts`: parsing, which accepts what `numpy.load` accepts in practice;
 * - `encode_header.ts`: encoding the bytes `np.save` writes (NumPy ≥ 1.24: growth room,
 *   64-byte alignment), or padded to an old header's exact length;
 * - `header_rewriter.ts`: rewriting a header in place as the row count grows, and whether a
 *   header has the room for it.
 *
 * Pure: bytes only, no I/O.
 *
 * @module
 */

export {
  ARRAY_ALIGN,
  dataByteLength,
  GROWTH_AXIS_MAX_DIGITS,
  growthAxis,
  type HeaderFields,
  MAGIC,
  MAX_HEADER_SIZE,
  type NpyHeader,
  type NpyVersion,
  preambleSize,
  rowByteLength,
  rowCountOf,
  rowShapeOf,
  sameShape,
  shapeWithRows,
} from "./header_fields.ts";
export { parseHeader, type ParseHeaderOptions, peekHeaderLength } from "./parse_header.ts";
export { encodeHeader, type EncodeHeaderOptions } from "./encode_header.ts";
export { hasGrowthRoom, headerRewriter } from "./header_rewriter.ts";
