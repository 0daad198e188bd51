"""Writes tests/testdata/headers.json: the exact header bytes NumPy writes for many
(descr, shape, fortran_order) combinations, for tests/header_test.ts to compare against.

Run: python3 tests/testdata/make_headers.py [--stdout]
Each header comes from np.save of a real array where the array is small, and from
numpy.lib.format's own header writer (what np.save calls) for shapes too large to allocate.
"""
import base64
import io
import json
import sys
import warnings

import numpy as np
try:
    from numpy.lib import _format_impl as fmt
except ImportError:  # NumPy < 2
    from numpy.lib import format as fmt


def to_json_descr(descr):
    """dtype.descr (tuples) -> the Descr value tests use (lists)."""
    if isinstance(descr, str):
        return descr
    if isinstance(descr, tuple):  # a subarray (base, shape): the Descr value {base, shape}
        return {"base": to_json_descr(descr[0]), "shape": list(descr[1])}
    out = []
    for field in descr:
        name = field[0]
        name = list(name) if isinstance(name, tuple) else name
        item = [name, to_json_descr(field[1])]
        if len(field) == 3:
            item.append(list(field[2]))
        out.append(item)
    return out


def header_of_array(arr):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.save(buf, arr)
    raw = buf.getvalue()
    version = raw[6]
    hlen = int.from_bytes(raw[8:10] if version == 1 else raw[8:12], "little")
    return raw[: (10 if version == 1 else 12) + hlen]


def header_of_dict(descr, shape, fortran):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmt._write_array_header(
            buf, {"descr": descr, "fortran_order": fortran, "shape": shape}, None
        )
    return buf.getvalue()


cases = []


def add(name, arr=None, *, dtype=None, shape=None, fortran=False):
    if arr is not None:
        header = header_of_array(arr)
        d = fmt.header_data_from_array_1_0(arr)
        descr, shape, fortran = d["descr"], d["shape"], d["fortran_order"]
    else:
        descr = fmt.dtype_to_descr(np.dtype(dtype))
        header = header_of_dict(descr, shape, fortran)
    cases.append(
        {
            "name": name,
            "descr": to_json_descr(descr),
            # A dim beyond 2^53 - 1 (empty arrays only) as a string: JSON numbers lose it.
            "shape": [d if d <= 2**53 - 1 else str(d) for d in shape],
            "fortranOrder": fortran,
            "header": base64.b64encode(header).decode(),
        }
    )


for kind in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"]:
    for order in "<>":
        add(f"{order}{kind} 1-D", np.zeros(3, dtype=order + kind))
add("|b1 2-D", np.zeros((2, 3), dtype="?"))
add("|S5", np.zeros(4, dtype="S5"))
add("<U7", np.zeros(2, dtype="<U7"))
add(">U3", np.zeros(2, dtype=">U3"))
add("|V8", np.zeros(2, dtype="V8"))
for unit in ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"]:
    add(f"<M8[{unit}]", np.zeros(1, dtype=f"<M8[{unit}]"))
add(">m8[ns]", np.zeros(2, dtype=">m8[ns]"))
add("<M8[10us]", np.zeros(2, dtype="<M8[10us]"))
add("generic <M8", np.zeros(2, dtype="<M8"))
add("generic >m8", np.zeros(2, dtype=">m8"))
add("0-d <f8", np.array(1.5))
add("0-d record", np.zeros((), dtype=[("a", "<i4")]))
add("empty (0,)", np.zeros(0, dtype="<f4"))
add("empty (0, 3)", np.zeros((0, 3), dtype="<i8"))
add("empty (4, 0)", np.zeros((4, 0), dtype="<i8"))
add("3-D", np.zeros((2, 3, 4), dtype="<f4"))
add("fortran 2-D", np.asfortranarray(np.zeros((3, 4), dtype="<f8")))
add("fortran 3-D", np.asfortranarray(np.zeros((2, 3, 5), dtype=">i4")))
add("flat record", np.zeros(3, dtype=[("t", "<i8"), ("x", "<f4"), ("y", "<f4")]))
add("subarray record", np.zeros(2, dtype=[("t", "<i8"), ("xy", "<f4", (2,)), ("m", "<f8", (2, 3))]))
add("nested record", np.zeros(2, dtype=[("a", [("x", "<f4"), ("y", [("p", "|u1")])]), ("b", ">i2")]))
add("nested subarray record", np.zeros(2, dtype=[("a", [("x", "<f4")], (3,))]))
add("padded record (align)", np.zeros(2, dtype=np.dtype([("a", "u1"), ("b", "<i8")], align=True)))
add(
    "offsets record",
    np.zeros(2, dtype=np.dtype({"names": ["a", "b"], "formats": ["<i2", "<f8"], "offsets": [0, 8], "itemsize": 24})),
)
add("titled record", np.zeros(2, dtype=[(("Temperature in C", "temp"), "<f4"), ("n", "<i4")]))
add("quote in name", np.zeros(1, dtype=[("it's", "<f4"), ('say "hi"', "<f4"), ("both'\"", "<f4")]))
add("escapes in name", np.zeros(1, dtype=[("tab\there", "<f4"), ("nl\nx", "<f4"), ("bs\\x", "<f4"), ("\x01ctl", "<f4")]))
add("latin1 name (v1)", np.zeros(2, dtype=[("café", "<f4"), ("\xa0nbsp\xad", "<f4")]))
add("non-latin1 name (v3)", np.zeros(2, dtype=[("名前", "<f4"), ("x", "<i8")]))
add("emoji name (v3)", np.zeros(1, dtype=[("\U0001F600", "<f4")]))
add("big record (v2)", np.zeros(1, dtype=[(f"field_with_a_long_name_{i:05d}", "<f4") for i in range(2500)]))
add("huge growth dim", dtype="<f4", shape=(2**53 // 16, 2))
# The nested forms of NumPy's own test_descr_to_dtype, and structured dtypes of no bytes.
_pair = np.dtype({"names": ["a", "b"], "formats": ["i1", "i1"], "offsets": [0, 4], "itemsize": 8})
add("subarray of subarray", np.zeros(2, dtype=[("c", ("<f8", (5,)), (2,))]))
add("subarray of records", np.zeros(2, dtype=[("x", np.dtype((_pair, (3,))), (4,))]))
add("subarray of subarray of records", np.zeros(1, dtype=[("x", np.dtype((np.dtype((_pair, (3,))), (4,))))]))
add(
    "deep subarrays",
    np.zeros(1, dtype=[("a", np.dtype((np.dtype((np.dtype((np.dtype([("a", int), ("b", _pair)]), (3,))), (4,))), (5,))))]),
)
add("no fields", np.zeros(3, dtype=np.dtype([])))
add("record of empty parts", np.zeros(2, dtype=[("e", []), ("a", "<f4", (0,)), ("b", "<i2")]))
# Zero-width flexible types and a zero unit multiplier, which NumPy saves and loads.
add("|V0", np.zeros(2, dtype="V0"))
add("zero-width fields", np.zeros(2, dtype=[("a", "<i4"), ("s", "S0"), ("u", "U0"), ("v", "V0")]))
add("<M8[0s]", np.zeros(2, dtype="<M8[0s]"))
add("|S0 (header only)", dtype="S0", shape=(2,))
add(">U0 (header only)", dtype=">U0", shape=(1,))
# Dimensions beyond 2^53 in arrays of no elements: NumPy writes and reads them.
add("dim beyond 2^53 (empty)", np.zeros((0, 2**53 + 1), dtype="<f4"))
add("growth dim beyond 2^53 (empty)", np.zeros((2**53 + 1, 0), dtype="|u1"))
add("dim 2^62 (empty)", dtype="|u1", shape=(0, 2**62))
add("fortran growth dim 2^58 (empty)", dtype="<f4", shape=(3, 0, 2**58), fortran=True)
add("64 dimensions", np.zeros((1,) * 64, dtype="<f4"))
add("growth dim 10^18 fortran", dtype="|u1", shape=(1, 10**15), fortran=True)
add("shape 9 digits", dtype="<f8", shape=(123456789, 3))
add("64-aligned exactly", dtype="<f4", shape=(1,))

out = json.dumps({"numpy": np.__version__, "cases": cases}, indent=1)
if "--stdout" in sys.argv:
    print(out)
else:
    import os

    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "headers.json"), "w") as f:
        f.write(out + "\n")
    print(f"{len(cases)} cases")
