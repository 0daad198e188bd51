/**
 * Quick start: append a few chunks to `out.npy`, then let NumPy open it memory-mapped.
 *
 *   npx deno run -A examples/quickstart.ts [out.npy]
 *   npx bun examples/quickstart.ts [out.npy]
 */
import { execFileSync } from "node:child_process";
import process from "node:process";
import { NpyAppendArray } from "../mod.ts";

const path = process.argv[2] ?? "out.npy";

{
  // The first append fixes the dtype (<f8 for JS numbers) and the row shape (2,).
  await using writer = await NpyAppendArray.open(path, { mode: "overwrite" });
  await writer.append([[1, 2], [3, 4]]);
  await writer.append([[1, 2], [3, 4], [5, 6]]);
  await writer.append([[1, 2], [3, 4], [5, 6]]);
  // Typed arrays are written as they are, without a copy: 2 rows of (2,) float64.
  await writer.append(new Float64Array([7, 8, 9, 10]));
  console.log(`wrote ${writer.rows} rows of ${JSON.stringify(writer.descr)} to ${path}`);
}

// The header was rewritten in place after every append: NumPy opens the file as it is.
const shown = execFileSync("python3", [
  "-c",
  "import sys, numpy as np\n" +
  "a = np.load(sys.argv[1], mmap_mode='r')\n" +
  "print('numpy sees', a.shape, a.dtype)\n" +
  "print(a)\n" +
  "assert a.shape == (10, 2) and a[-1, -1] == 10 and a[:8].tolist() == [[1,2],[3,4]] + [[1,2],[3,4],[5,6]] * 2",
  path,
], { encoding: "utf8" });
console.log(shown.trimEnd());
