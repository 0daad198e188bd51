#!/usr/bin/env python3
"""NumPy baselines for the benchmark suite, served to bench/suite.ts trial by trial.

bench/suite.ts starts `python3 bench/numpy_baseline.py TEMPDIR [--quick]` (when python3 has
NumPy) and interleaves NumPy's trials with its own, so both see the same machine load. The
protocol is one JSON object per line: the first answer is {"python": ..., "numpy": ...};
then requests and answers:

  {"op": "case", "key": "f4x16/1", "descr": "'<f4'", "rowShape": [16], "rows": 1}
      -> {"bytesPerOp": 64}
  {"op": "trial", "key": "f4x16/1", "name": "append", "seconds": 0.15} -> {"opsPerSec": x}
  {"op": "readFile", "rows": 1048576} -> {"ok": true}
  {"op": "readTrial", "n": 1024, "seconds": 0.15} -> {"opsPerSec": x}   (n = 0: np.load)
  {"op": "quit"}

Trials ("name"):
  - "append":         the Python `npy-append-array` package (0.9.x) appending with its default
                      rewrite_header_on_append=True: seek to the end, `tofile` the (flattened)
                      array, then seek to 0 and rewrite the whole header in place. This is the
                      REAL package when it can be imported (bench/_numpy.ts puts the copy in
                      ../shared/anchors/npy-append-array-0.9.19 on PYTHONPATH, or the folder
                      BENCH_NPA_PATH names); otherwise `PackageStyleAppender` below, which
                      re-implements those steps call for call (same file object, same NumPy
                      calls, same header text building). The first answer says which ("npa").
  - "appendNoHeader": the same with rewrite_header_on_append=False (header written at close).
  - "appendReimpl", "appendNoHeaderReimpl": the re-implementation, also when the real package is
                      there, so that the two can be compared in one run.
  - "save":           what users do without an appender: keep every chunk in a list, then
                      `np.concatenate` and `np.save` once at the end (all in memory); up to
                      64 MiB (4 MiB with --quick) per trial.
  - readTrial n > 0:  `np.load(path, mmap_mode="r")`, then `m[s:s+n].copy()` at random s.
  - readTrial n = 0:  `np.load(path)` of the whole file.
Every trial checks its output (file size, and `np.load(..., mmap_mode="r")` shape and dtype).
"""

import ast
import json
import os
import struct
import sys
import threading
import time

import numpy as np
from numpy.lib import format as npformat

GROWTH_AXIS_MAX_DIGITS = 21

try:
    import npy_append_array as _real_package
    from npy_append_array import NpyAppendArray as RealAppender
except ImportError:  # not on PYTHONPATH: the re-implementation stands in
    _real_package = None
    RealAppender = None


def package_info():
    """Which appender the "append" trials use, for the benchmark report."""
    if RealAppender is None:
        return {"npa": "re-implementation (the npy-append-array package is not importable)"}
    where = os.path.dirname(os.path.dirname(os.path.abspath(_real_package.__file__)))
    return {"npa": f"npy-append-array (the real package, from {os.path.basename(where)})"}


class PackageStyleAppender:
    """The per-append work of the `npy-append-array` package, re-implemented step by step."""

    def __init__(self, path, rewrite_header_on_append=True):
        self.path = path
        self.rewrite = rewrite_header_on_append
        self.lock = threading.Lock()
        self.fp = None
        self.header_length = None
        self.initialized = False

    def _init_from_file(self):
        fp = open(self.path, "rb+")
        self.fp = fp
        version = npformat.read_magic(fp)
        if version == (1, 0):
            shape, fortran_order, dtype = npformat.read_array_header_1_0(fp)
        else:
            shape, fortran_order, dtype = npformat.read_array_header_2_0(fp)
        self.shape, self.fortran_order, self.dtype = shape, fortran_order, dtype
        self.header_length = fp.tell()
        self._header_bytes()  # raises when the header is not appendable
        fp.seek(0, os.SEEK_END)
        data_length = fp.tell() - self.header_length
        if data_length != int(np.prod(shape)) * dtype.itemsize:
            raise ValueError("file needs recovery")
        self.initialized = True

    def _header_bytes(self):
        # The package's _write_array_header + _wrap_header(header, (1, 0), header_len).
        d = {
            "shape": self.shape,
            "fortran_order": self.fortran_order,
            "descr": npformat.dtype_to_descr(self.dtype),
        }
        text = ["{"]
        for key, value in sorted(d.items()):
            text.append("'%s': %s, " % (key, repr(value)))
        text.append("}")
        text = "".join(text)
        shape = d["shape"]
        if len(shape) > 0:
            axis = shape[-1 if d["fortran_order"] else 0]
            text += " " * (GROWTH_AXIS_MAX_DIGITS - len(repr(axis)))
        raw = text.encode("latin1")
        hlen = len(raw) + 1
        padlen = npformat.ARRAY_ALIGN - ((npformat.MAGIC_LEN + 2 + hlen) % npformat.ARRAY_ALIGN)
        natural = npformat.MAGIC_LEN + 2 + hlen + padlen
        total = natural if self.header_length is None else self.header_length
        if natural > total:
            raise ValueError("header too big for the header length")
        prefix = npformat.magic(1, 0) + struct.pack("<H", total - npformat.MAGIC_LEN - 2)
        header = prefix + raw + b" " * padlen
        header += b" " * (total - (len(header) + 1))
        return header + b"\n"

    def _write_header(self):
        self.fp.seek(0, os.SEEK_SET)
        self.fp.write(self._header_bytes())

    def append(self, arr):
        with self.lock:
            if not self.initialized:
                np.save(self.path, arr)  # the package calls write_array: same bytes
                self._init_from_file()
                return
            shape = self.shape
            if shape[1:] != arr.shape[1:]:
                raise ValueError("array shapes can only differ on append axis")
            self.fp.seek(0, os.SEEK_END)
            arr.astype(self.dtype, copy=False).flatten(order="C").tofile(self.fp)
            self.shape = (shape[0] + arr.shape[0], *shape[1:])
            if self.rewrite:
                self._write_header()

    def close(self):
        with self.lock:
            if self.initialized:
                if not self.rewrite:
                    self._write_header()
                self.fp.close()
                self.initialized = False


def make_chunk(descr_text, row_shape, rows):
    dtype = npformat.descr_to_dtype(ast.literal_eval(descr_text))
    nbytes = rows * int(np.prod(row_shape)) * dtype.itemsize
    pattern = (np.arange(nbytes, dtype=np.int64) % 251).astype(np.uint8)
    return np.frombuffer(pattern.tobytes(), dtype=dtype).reshape(rows, *row_shape), dtype


def check_file(path, rows, row_shape, dtype):
    m = np.load(path, mmap_mode="r")
    if m.shape != (rows, *row_shape) or m.dtype != dtype:
        raise AssertionError(f"{path}: shape {m.shape} dtype {m.dtype}, wanted {(rows, *row_shape)}")
    header = os.path.getsize(path) - rows * int(np.prod(row_shape)) * dtype.itemsize
    if header % 64 != 0 or header <= 0:
        raise AssertionError(f"{path}: bad size {os.path.getsize(path)}")
    del m


def append_trial(path, chunk, dtype, seconds, rewrite, appender):
    if os.path.exists(path):
        os.unlink(path)
    app = appender(path, rewrite_header_on_append=rewrite)
    app.append(chunk)  # creates the file (untimed)
    app.append(chunk)  # warm
    n = 0
    batch = 1
    t0 = time.perf_counter()
    while True:
        for _ in range(batch):
            app.append(chunk)
        n += batch
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
        if elapsed < seconds / 20:
            batch *= 2
    app.close()
    check_file(path, (n + 2) * chunk.shape[0], chunk.shape[1:], dtype)
    os.unlink(path)
    return n / elapsed


def save_trial(path, chunk, dtype, count):
    chunk = chunk.copy()  # a fresh (touched) array, as a producer would hand over
    t0 = time.perf_counter()
    parts = []
    for _ in range(count):
        parts.append(chunk)
    np.save(path, np.concatenate(parts))
    elapsed = time.perf_counter() - t0
    del parts
    check_file(path, count * chunk.shape[0], chunk.shape[1:], dtype)
    os.unlink(path)
    return count / elapsed


def read_trial(path, rows, n, seconds, rng):
    """`n` rows at random starts through one mmap (n > 0), or `np.load` of the whole file."""
    if n == 0:
        t0 = time.perf_counter()
        whole = np.load(path)
        elapsed = time.perf_counter() - t0
        if whole.shape != (rows, 16) or whole[-1, 15] != 15:
            raise AssertionError("bad load")
        return 1 / elapsed
    m = np.load(path, mmap_mode="r")
    starts = rng.integers(0, rows - n + 1, size=1 << 12)
    count = 0
    t0 = time.perf_counter()
    while True:
        s = int(starts[count & 0xFFF])
        got = m[s : s + n].copy()
        count += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    if got.shape != (n, 16) or got[-1, 15] != 15:
        raise AssertionError("bad read")
    del m
    return count / elapsed


# trial name -> (rewrite_header_on_append, use the real package when importable)
APPEND_TRIALS = {
    "append": (True, True),
    "appendNoHeader": (False, True),
    "appendReimpl": (True, False),
    "appendNoHeaderReimpl": (False, False),
}


def serve(out_dir, quick):
    """One JSON request per stdin line, one JSON answer per stdout line (see the docstring)."""
    path = os.path.join(out_dir, "numpy-baseline.npy")
    read_path = os.path.join(out_dir, "numpy-read.npy")
    cases = {}
    read_rows = 0
    rng = np.random.default_rng(7)
    answer({"python": sys.version.split()[0], "numpy": np.__version__, **package_info()})
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        if op == "case":
            chunk, dtype = make_chunk(req["descr"], req["rowShape"], req["rows"])
            cases[req["key"]] = (chunk, dtype)
            answer({"bytesPerOp": chunk.nbytes})
        elif op == "trial":
            chunk, dtype = cases[req["key"]]
            chunk = chunk.copy()  # re-touched: this VM makes idle memory slow to write
            cases[req["key"]] = (chunk, dtype)
            name, seconds = req["name"], float(req["seconds"])
            if name == "save":
                limit = (4 << 20) if quick else (64 << 20)
                count = max(1, min(200_000, limit // chunk.nbytes))
                rate = save_trial(path, chunk, dtype, count)
            elif name in APPEND_TRIALS:
                rewrite, real = APPEND_TRIALS[name]
                if real and RealAppender is not None:
                    appender = RealAppender
                else:
                    appender = PackageStyleAppender
                rate = append_trial(path, chunk, dtype, seconds, rewrite, appender)
            else:
                raise ValueError(f"unknown trial {name!r}")
            answer({"opsPerSec": rate})
        elif op == "readFile":
            read_rows = int(req["rows"])
            data = np.empty((read_rows, 16), dtype="<f4")
            data[:] = np.arange(16, dtype="<f4")
            np.save(read_path, data)
            del data
            check_file(read_path, read_rows, (16,), np.dtype("<f4"))
            answer({"ok": True})
        elif op == "readTrial":
            rate = read_trial(read_path, read_rows, int(req["n"]), float(req["seconds"]), rng)
            answer({"opsPerSec": rate})
        elif op == "quit":
            break
        else:
            raise ValueError(f"unknown op {op!r}")
    for p in (path, read_path):
        if os.path.exists(p):
            os.unlink(p)


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    serve(sys.argv[1], "--quick" in sys.argv[2:])
