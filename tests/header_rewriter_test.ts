/**
 * headerRewriter(): the in-place header of a growing file equals encodeHeader's bytes for
 * every row count, shape, order, version and length (property-tested), and refuses what
 * encodeHeader refuses.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Descr,
  encodeHeader,
  type HeaderFields,
  headerRewriter,
  NpyFormatError,
  NpyHeaderSpaceError,
  type NpyVersion,
} from "../mod.ts";

const DESCRS: Descr[] = ["<f4", "|u1", ">i8", "<M8[ns]", "|S7", [["t", "<i8"], ["é", "<f4", [2]]]];

test("headerRewriter(rows) equals encodeHeader for the same rows, in the file's length", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...DESCRS),
      fc.boolean(),
      fc.array(fc.integer({ min: 0, max: 99999 }), { maxLength: 3 }),
      fc.constantFrom<NpyVersion | undefined>(undefined, 1, 2, 3),
      fc.array(fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 99 })), {
        minLength: 1,
        maxLength: 8,
      }),
      (descr, fortranOrder, rowShape, version, counts) => {
        const fields = (rows: number): HeaderFields => ({
          descr,
          fortranOrder,
          shape: fortranOrder ? [...rowShape, rows] : [rows, ...rowShape],
        });
        let first: Uint8Array;
        try {
          first = encodeHeader(fields(0), version === undefined ? {} : { version });
        } catch (e) {
          // Version 1 and 2 cannot hold a non-latin1 name: the rewriter refuses it as well.
          assert.ok(e instanceof NpyFormatError);
          return;
        }
        const options = { version: first[6] as NpyVersion, totalLength: first.length };
        const rewrite = headerRewriter(fields(0), options);
        // NumPy's growth room holds a template, unless even one row is too big for NumPy.
        let oneRow = true;
        try {
          encodeHeader(fields(1), options);
        } catch {
          oneRow = false;
        }
        assert.ok(!oneRow || rewrite.fastRows >= 0, "a template for a growing header");
        for (const rows of counts) {
          let expected: Uint8Array | Error;
          try {
            expected = encodeHeader(fields(rows), options);
          } catch (e) {
            expected = e as Error; // more than 2^53 - 1 data bytes: refused alike
          }
          if (expected instanceof Error) {
            assert.throws(() => rewrite(rows), expected.constructor as typeof Error);
          } else assert.deepEqual(rewrite(rows), expected, `rows ${rows}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("headerRewriter in a header without growth room: fast while the digits fit, then refuses", () => {
  const fields = (rows: number) => ({ descr: "<f8", fortranOrder: false, shape: [rows, 3] });
  // The shortest header that holds 5 rows, plus two bytes: room for three digits.
  let length = 16;
  for (;; length++) {
    try {
      encodeHeader(fields(5), { version: 1, totalLength: length });
      break;
    } catch (e) {
      assert.ok(e instanceof NpyHeaderSpaceError);
    }
  }
  const options = { version: 1 as const, totalLength: length + 2 };
  const rewrite = headerRewriter(fields(5), options);
  assert.equal(rewrite.fastRows, 999);
  for (const rows of [0, 9, 10, 99, 100, 999, 5, 42]) {
    assert.deepEqual(rewrite(rows), encodeHeader(fields(rows), options), `rows ${rows}`);
  }
  assert.throws(() => rewrite(1000), NpyHeaderSpaceError);
  assert.throws(
    () => headerRewriter({ descr: "<f8", fortranOrder: false, shape: [] }, options),
    NpyFormatError,
  );
});
