"""Writes the golden .npy files for the dtype tests with NumPy: one file per case of
cases.json (name, descr, py), made by np.save(np.asarray(eval(py)).astype(dtype)).

The same evaluation (`expected_array`) is used by tests/dtypes_numpy_test.ts to check our
files against live NumPy. Run from anywhere: python3 tests/testdata/dtypes/make_dtypes.py
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def to_descr(d):
    """JSON descr (lists) -> the Python value NumPy writes (tuples)."""
    if isinstance(d, str):
        return d
    if isinstance(d, dict):  # a subarray {base, shape}: NumPy's (base, shape) tuple
        return (to_descr(d["base"]), tuple(d["shape"]))
    out = []
    for f in d:
        name = f[0] if isinstance(f[0], str) else tuple(f[0])
        item = (name, to_descr(f[1]))
        if len(f) == 3:
            item += (tuple(f[2]),)
        out.append(item)
    return out


def expected_array(case):
    dtype = np.lib.format.descr_to_dtype(to_descr(case["descr"]))
    value = eval(case["py"], {"np": np, "inf": np.inf, "nan": np.nan})
    if isinstance(value, np.ndarray) and value.dtype.fields is None and dtype.fields is None:
        # astype to a generic datetime keeps the source's byte order: skip a no-op cast.
        return value if value.dtype == dtype else value.astype(dtype)
    return np.array(value, dtype=dtype)


def main():
    with open(os.path.join(HERE, "cases.json")) as f:
        cases = json.load(f)
    for case in cases:
        arr = expected_array(case)
        np.save(os.path.join(HERE, case["name"] + ".npy"), arr)
    print(f"wrote {len(cases)} files with NumPy {np.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
