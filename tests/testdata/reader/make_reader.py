"""Writes the reader's golden files with NumPy: one small .npy per case and manifest.json.

Run from anywhere: python3 tests/testdata/reader/make_reader.py
manifest.json lists, per file: descr and shape as NumPy reports them (header text parsed by
np.lib.format), fortran order, header version, the data offset and, for numeric dtypes,
the elements in file order as JSON (int64 as strings, floats as repr strings).
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
fmt = np.lib.format


def values_of(a):
    flat = a.ravel(order="K" if a.ndim else "C")
    if a.dtype.kind in "iu":
        return [str(int(x)) for x in flat]
    if a.dtype.kind == "f":
        return [repr(float(x)) for x in flat]
    return None


def arange(shape, dtype, order="C"):
    n = int(np.prod(shape))
    base = np.arange(n) * 3 - n  # negative and positive values
    if np.dtype(dtype).kind == "u":
        base = np.arange(n) * 3
    if np.dtype(dtype).kind == "f":
        base = base / 4
    if np.dtype(dtype).kind == "b":
        base = base % 3 == 0
    if np.dtype(dtype).kind == "c":
        base = base + 1j * (base / 2)
    if np.dtype(dtype).kind in "SU":
        base = np.array([("x%d" % i)[: np.dtype(dtype).itemsize] for i in range(n)])
    if np.dtype(dtype).kind == "V":
        base = np.frombuffer(bytes(range(n * np.dtype(dtype).itemsize)), dtype=dtype).copy()
        return base.reshape(shape, order=order) if order == "C" else np.asfortranarray(base.reshape(shape))
    if np.dtype(dtype).kind in "Mm":
        base = np.arange(n) * 1000
    a = np.asarray(base).astype(dtype).reshape(shape)
    return np.asfortranarray(a) if order == "F" else np.ascontiguousarray(a)


NUMERIC = ["|i1", "|u1", "<i2", ">i2", "<u2", "<i4", ">u4", "<i8", ">u8", "<f2", ">f2",
           "<f4", ">f4", "<f8", ">f8"]
OTHER = ["|b1", "<c8", ">c16", "|S3", "<U2", "|V4", "<M8[ns]", "<m8[s]"]
RECORD = np.dtype([("a", "<i2"), ("b", "<f8", (2,))])

cases = []  # (name, array, version)
for d in NUMERIC + OTHER:
    tag = d.replace("<", "le").replace(">", "be").replace("|", "").replace("[", "_").replace("]", "")
    cases.append((f"{tag}_c", arange((3, 4), d), None))
for d in ["<f4", ">i8", "|u1", "<c8", "|S3"]:
    tag = d.replace("<", "le").replace(">", "be").replace("|", "")
    cases.append((f"{tag}_f", arange((3, 4), d, "F"), None))
cases += [
    ("f8_f_3d", arange((2, 3, 4), "<f8", "F"), None),
    ("i4_c_3d", arange((4, 2, 3), "<i4"), None),
    ("f8_1d", arange((7,), "<f8"), None),
    ("f8_0d", np.array(2.5), None),
    ("i2_0d_be", np.array(-7, dtype=">i2"), None),
    ("f4_empty_rows", np.zeros((0, 3), "<f4"), None),
    ("f4_empty_cols", np.zeros((3, 0), "<f4"), None),
    ("f4_empty_1d", np.zeros((0,), "<f4"), None),
    ("f4_empty_f", np.asfortranarray(np.zeros((2, 0), "<f4")), None),
    ("f4_v2", arange((5, 2), "<f4"), (2, 0)),
    ("i8_v3", arange((5, 2), "<i8"), (3, 0)),
    ("f8_v2_f", arange((3, 2), "<f8", "F"), (2, 0)),
    ("record_c", arange((4,), RECORD), None),
    ("record_utf8_v3", np.zeros((3,), np.dtype([("é€", "<f4"), ("b", "<i2")])), None),
]

manifest = []
for name, a, version in cases:
    path = os.path.join(HERE, name + ".npy")
    with open(path, "wb") as f:
        fmt.write_array(f, a, version=version, allow_pickle=False)
    with open(path, "rb") as f:
        v = fmt.read_magic(f)
        impl = getattr(np.lib, "_format_impl", fmt)  # NumPy 2 moved the private helper
        shape, fortran, dtype = impl._read_array_header(f, v)
        offset = f.tell()
    manifest.append({
        "name": name + ".npy",
        "descr": fmt.dtype_to_descr(dtype),
        "shape": list(shape),
        "fortranOrder": bool(fortran),
        "version": v[0],
        "headerLength": offset,
        "values": values_of(a),
    })

with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump({"numpy": np.__version__, "files": manifest}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(len(manifest), "files")
