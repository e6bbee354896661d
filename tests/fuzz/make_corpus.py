#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (corpus/<target>/) and their dictionaries (dict/).

Python 3 standard library only. The files are small valid inputs and a few edge cases; the fuzzer
mutates them. Run from anywhere: `python3 tests/fuzz/make_corpus.py`; the output is deterministic
(gzip without a timestamp), so rerunning it changes nothing unless this script changed. Inputs that once
crashed, hung or fooled a reader are named `finding-<what>`: those below are written here; one that only a
fuzzer produced is copied into corpus/<target>/ by hand under such a name, and this script leaves it alone.
"""
import gzip
import json
import os
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
DICT = HERE / "dict"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def put(target: str, name: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def idx(type_ndims: int, dims, payload: bytes, type_code: int = 0x08) -> bytes:
    return struct.pack(">I", (type_code << 8) | type_ndims) + b"".join(struct.pack(">I", d) for d in dims) + payload


def png(w: int, h: int, depth: int, color: int, rows: bytes, plte: bytes = b"", trns: bytes = b"") -> bytes:
    """A PNG chunk by chunk; `rows` are the scanlines without their filter byte (filter 0 is added)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    stride = len(rows) // h
    raw = b"".join(b"\0" + rows[y * stride:(y + 1) * stride] for y in range(h))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0))
    if plte:
        out += chunk(b"PLTE", plte)
    if trns:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# A 9x7 RGB JPEG (quality 90, 4:2:0, libjpeg-turbo's defaults, as write_jpeg writes it): Python has no JPEG
# encoder.
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb0043000302020302020303030304030304050805050404050a070706"
    "080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f171816141812141514ffdb004301030404050405"
    "09050509140d0b0d141414141414141414141414141414141414141414141414141414141414141414141414141414141414"
    "1414141414141414ffc00011080007000903012200021101031101ffc4001f00000105010101010101000000000000000001"
    "02030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114"
    "328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a53545556"
    "5758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5"
    "b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffc4001f010003"
    "0101010101010101010000000000000102030405060708090a0bffc400b51100020102040403040705040400010277000102"
    "031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35"
    "363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a92939495"
    "969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9ea"
    "f2f3f4f5f6f7f8f9faffda000c03010002110311003f008f545d23f650d2348f09f8734e8aff00e25eb3602eecda6881b5d3"
    "6dd9da35b9909e2472c92048c6466325f0368926ff0084eff68bff00a291ff0094ad3bff008c5145695f0786c534f114d4ed"
    "b7324ede97dbcffe0239fdacb9141696edbbbf77bfa2d974576eff00ffd9")


def npy(descr: str, shape, payload: bytes, fortran=False, version=(1, 0)) -> bytes:
    shape_s = "(" + "".join(f"{d}," if len(shape) == 1 else f"{d}, " for d in shape).rstrip(", ")
    shape_s += ",)" if len(shape) == 1 else ")"
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_s}, }}"
    pre = 10 if version[0] == 1 else 12
    header += " " * ((64 - (pre + len(header) + 1) % 64) % 64) + "\n"
    length = struct.pack("<H", len(header)) if version[0] == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes(version) + length + header.encode() + payload


def safetensors(tensors, metadata=None) -> bytes:
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def raw_st(header: str, data: bytes) -> bytes:
    """A safetensors file from a header written by hand (for what safetensors() cannot express)."""
    h = header.encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def f32(*v):
    return struct.pack(f"<{len(v)}f", *v)


def f64(*v):
    return struct.pack(f"<{len(v)}d", *v)


def i64(*v):
    return struct.pack(f"<{len(v)}q", *v)


def main() -> None:
    # IDX: images [N, rows, cols], labels [N], any rank; plain and gzip; edge cases.
    images = idx(3, [2, 3, 3], bytes(range(18)))
    labels = idx(1, [5], bytes([0, 1, 2, 3, 9]))
    put("idx", "images", images)
    put("idx", "images.gz", gz(images))
    put("idx", "labels", labels)
    put("idx", "labels.gz", gz(labels))
    put("idx", "zero-images", idx(3, [0, 28, 28], b""))
    put("idx", "rank5", idx(5, [1, 2, 1, 2, 1], bytes(4)))
    put("idx", "float-type", idx(1, [2], f32(1, 2), type_code=0x0D))
    put("idx", "gzip-no-trailer", gz(images)[:-8])

    # NPY: each dtype, scalar, empty, version 2.0, Fortran order, big-endian, gzip.
    put("npy", "f4-2x3.npy", npy("<f4", (2, 3), f32(*range(6))))
    put("npy", "f8-4.npy", npy("<f8", (4,), f64(1, 2, 3, 4)))
    put("npy", "u1-2x2x2.npy", npy("|u1", (2, 2, 2), bytes(range(8))))
    put("npy", "f4-scalar.npy", npy("<f4", (), f32(7)))
    put("npy", "f4-0x3.npy", npy("<f4", (0, 3), b""))
    put("npy", "v2.npy", npy("<f4", (2,), f32(1, 2), version=(2, 0)))
    put("npy", "fortran.npy", npy("<f4", (2, 2), f32(1, 2, 3, 4), fortran=True))
    put("npy", "big-endian.npy", npy(">f4", (1,), struct.pack(">f", 1)))
    put("npy", "f4-2x3.npy.gz", gz(npy("<f4", (2, 3), f32(*range(6)))))

    # CIFAR: first byte = options (format = byte % 3, bit 2: read twice), then records of label byte(s) + 3072.
    pixels = bytes((i * 7) % 256 for i in range(3072))
    put("cifar", "cifar10-1", bytes([0]) + bytes([3]) + pixels)
    put("cifar", "cifar100-fine-1", bytes([1]) + bytes([5, 77]) + pixels)
    put("cifar", "cifar100-coarse-twice.gz", bytes([2 | 4]) + gz(bytes([5, 77]) + pixels))
    put("cifar", "cifar10-gz-2", bytes([0]) + gz((bytes([1]) + pixels) * 2))
    put("cifar", "partial-record", bytes([0]) + bytes([1]) + pixels[:100])

    # CSV: first byte = options (bits 0-1 delimiter , ; TAB space; bit 2 header; bits 3-4 label column none/0/-1/2).
    put("csv", "plain", bytes([0]) + b"1,2,3\n4,5.5,-6e-3\n")
    put("csv", "header-label-last", bytes([4 | (2 << 3)]) + b"a,b,label\r\n0.5,1.5,2\r\n\r\n3,4,0\r\n")
    put("csv", "semicolon-label-first", bytes([1 | (1 << 3)]) + b"1;0.1;0.2\n0;0.3;0.4\n")
    put("csv", "tab-label-2", bytes([2 | (3 << 3)]) + b"1\t2\t7\t4\n5\t6\t8\t1\n")
    put("csv", "space", bytes([3]) + b"1 2\n3 4\n")
    put("csv", "nan-inf", bytes([0]) + b"nan,inf\n1e40,-0\n")
    put("csv", "plain.gz", bytes([0]) + gz(b"1,2\n3,4\n"))

    # Text: first byte = options (bit 0 labeled, bit 1 ',' instead of TAB, bit 2 keep empty lines).
    put("text", "unlabeled", bytes([0]) + b"the quick brown fox\n\njumps over the lazy dog\n")
    put("text", "labeled-tab", bytes([1]) + b"0\tgood movie\n1\tbad movie\r\n2\t\n")
    put("text", "labeled-comma-keep-empty", bytes([1 | 2 | 4]) + b"3,caf\xc3\xa9 au lait\n\n0,x\n")
    put("text", "labeled.gz", bytes([1]) + gz(b"0\ta\n1\tb\n"))

    # safetensors: each dtype, metadata, scalar and empty tensors.
    put("safetensors", "f32.safetensors", safetensors([("w", "F32", [2, 2], f32(1, 2, 3, 4))]))
    put("safetensors", "all-dtypes.safetensors", safetensors(
        [("a", "F32", [2], f32(1, 2)), ("b", "F64", [1], f64(3)), ("c", "I64", [], i64(4)),
         ("d", "I32", [2], struct.pack("<2i", 5, 6)), ("e", "U8", [3], bytes([7, 8, 9]))],
        metadata={"format": "pt", "seed": "128"}))
    put("safetensors", "empty-tensor.safetensors", safetensors([("z", "F32", [0, 3], b""), ("w", "F32", [1], f32(1))]))
    put("safetensors", "empty-header.safetensors", safetensors([]))

    # The checkpoint of the model in checkpoint_fuzz.cpp: Linear(3, 2) then BatchNorm1d(2), and an Adam.
    model = [("0.weight", "F32", [2, 3], f32(*[0.1 * i for i in range(6)])), ("0.bias", "F32", [2], f32(0, 1)),
             ("1.weight", "F32", [2], f32(1, 1)), ("1.bias", "F32", [2], f32(0, 0)),
             ("1.running_mean", "F32", [2], f32(0, 0)), ("1.running_var", "F32", [2], f32(1, 1)),
             ("1.num_batches_tracked", "I64", [], i64(3))]
    optim = [("train.optim.steps", "I64", [], i64(3)), ("train.optim.lr", "F64", [1], f64(1e-3))]
    shapes = {0: [2, 3], 1: [2], 2: [2], 3: [2]}
    for k, shape in shapes.items():
        n = 1
        for d in shape:
            n *= d
        optim += [(f"train.optim.{k}.exp_avg", "F32", shape, f32(*[0.01] * n)),
                  (f"train.optim.{k}.exp_avg_sq", "F32", shape, f32(*[0.001] * n)),
                  (f"train.optim.{k}.step", "I64", [], i64(3))]
    meta = {"recipe": "simclr", "seed": "1"}
    put("checkpoint", "model-and-adam.safetensors", safetensors(model + optim, meta))
    put("checkpoint", "model-only.safetensors", safetensors(model))
    put("checkpoint", "fresh-adam.safetensors", safetensors(model + optim[:2], meta))

    # Images: PNG of every colour type and depth the decoder converts, and a JPEG.
    put("image", "gray8.png", png(3, 2, 8, 0, bytes([0, 17, 128, 255, 3, 90])))
    put("image", "rgb8.png", png(2, 2, 8, 2, bytes(range(12))))
    put("image", "rgba8.png", png(2, 1, 8, 6, bytes(range(8))))
    put("image", "gray-alpha.png", png(2, 1, 8, 4, bytes([5, 255, 6, 0])))
    put("image", "gray16.png", png(2, 2, 16, 0, bytes([0, 0, 255, 255, 128, 128, 18, 52])))
    put("image", "palette2.png", png(3, 1, 2, 3, bytes([0b11010000]), bytes(range(12)), bytes([0, 128])))
    put("image", "gray1.png", png(9, 2, 1, 0, bytes([0b10100000, 0, 0xFF, 0x80])))
    put("image", "tiny.jpg", TINY_JPEG)

    # Inputs that once got through (regression tests in tests/data/idx_test.cpp, tests/io/safetensors_test.cpp).
    put("idx", "finding-gzip-junk-after-stream", gz(images) + b"junk")
    put("idx", "finding-gzip-half-trailer", gz(images)[:-4])
    put("idx", "finding-gzip-claims-more.gz", gz(idx(3, [300, 10, 10], bytes(16))))
    put("npy", "finding-gzip-claims-more.npy.gz", gz(npy("<f8", (4000,), bytes(16))))
    w4 = f32(1)
    put("safetensors", "finding-duplicate-name", raw_st(
        '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        w4 + w4))
    put("safetensors", "finding-shape-wraps", raw_st(
        '{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}', b""))
    put("safetensors", "finding-empty-tensor-tie", raw_st(
        '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}',
        f32(1, 2)))
    put("safetensors", "finding-offset-beyond-int64", raw_st(
        '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}}', f32(1, 2)))
    put("checkpoint", "finding-duplicate-running-var", raw_st(
        '{"1.running_var":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        '"1.running_var":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', f32(1, 1, -1, -1)))
    put("json", "finding-duplicate-key.json", b'{"a":1,"a":2}')
    put("json", "finding-plus-leading-zero.json", b'[+8, 08, 8.]')
    put("json", "finding-lone-surrogate.json", b'["\\ud83d"]')

    # JSON: the reader on its own.
    put("json", "header.json", b'{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}')
    put("json", "values.json", b'[null, true, false, -1.5e-3, 0, 9223372036854775807, "a\\u00e9\\n", {}, []]')
    put("json", "nested.json", b'{"a":[[[{"b":[1,{"c":"d"}]}]]]}')

    # Dictionaries: tokens the fuzzer would take long to guess.
    DICT.mkdir(exist_ok=True)
    json_tokens = ['"{"', '"}"', '"["', '"]"', '":"', '","', '"\\""', '"true"', '"false"', '"null"', '"-"',
                   '"1e308"', '"0.5"', '"\\\\u0000"', '"9223372036854775808"', '"18446744073709551615"']
    st_tokens = ['"\\"dtype\\""', '"\\"shape\\""', '"\\"data_offsets\\""', '"\\"__metadata__\\""', '"\\"F32\\""',
                 '"\\"F64\\""', '"\\"I64\\""', '"\\"I32\\""', '"\\"U8\\""']
    ckpt_tokens = ['"0.weight"', '"0.bias"', '"1.running_var"', '"1.num_batches_tracked"', '"train.optim."',
                   '"train.optim.steps"', '"train.optim.lr"', '"exp_avg"', '"exp_avg_sq"', '".step"']
    (DICT / "json.dict").write_text("\n".join(json_tokens) + "\n")
    (DICT / "safetensors.dict").write_text("\n".join(json_tokens + st_tokens) + "\n")
    (DICT / "checkpoint.dict").write_text("\n".join(json_tokens + st_tokens + ckpt_tokens) + "\n")
    (DICT / "npy.dict").write_text("\n".join([
        '"\\x93NUMPY"', '"\\x01\\x00"', '"\\x02\\x00"', '"\'descr\'"', '"\'fortran_order\'"', '"\'shape\'"',
        '"\'<f4\'"', '"\'<f8\'"', '"\'|u1\'"', '"\'>f4\'"', '"False"', '"True"', '"(0,)"', '"(1, 1)"',
        '"\\x1f\\x8b\\x08"']) + "\n")
    (DICT / "idx.dict").write_text("\n".join([
        '"\\x00\\x00\\x08\\x03"', '"\\x00\\x00\\x08\\x01"', '"\\xff\\xff\\xff\\xff"', '"\\x00\\x00\\x00\\x00"',
        '"\\x1f\\x8b\\x08"']) + "\n")
    (DICT / "image.dict").write_text("\n".join([
        '"\\x89PNG\\x0d\\x0a\\x1a\\x0a"', '"IHDR"', '"PLTE"', '"tRNS"', '"IDAT"', '"IEND"', '"\\xff\\xd8\\xff"',
        '"\\xff\\xc0"', '"\\xff\\xc2"', '"\\xff\\xc4"', '"\\xff\\xda"', '"\\xff\\xdb"', '"\\xff\\xd9"']) + "\n")
    (DICT / "csv.dict").write_text("\n".join([
        '"nan"', '"inf"', '"-inf"', '"1e40"', '"1e-50"', '"0x1p3"', '"\\x0d\\x0a"', '"-0"', '"9223372036854775808"']) + "\n")


if __name__ == "__main__":
    main()
