#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (plain Python, no NumPy).

usage: make_seeds.py [DIR]      default: corpus/ next to this file

  DIR/npy/          .npy files: each dtype the reader takes, both format
                    versions, and the malformed headers it must refuse;
  DIR/elattn_run/   command lines with their files, in fuzz_elattn_run.c's
                    layout: attn (fp32, fp16, bf16, varlen, block mask, LSE),
                    xattn, router, decode (Quest's page budget), --help and a few bad ones;
  DIR/safetensors/  fuzz_safetensors inputs: a mode byte (0 a .safetensors file, 1 an
                    index), then the file: layer 0's router (D 4, hidden 8) in F32,
                    BF16 and F16, one with every dtype, an index onto the target's
                    own shard, and malformed headers the reader must refuse;
  DIR/api/          byte strings that fuzz_api.c decodes into a plain valid
                    attention, XAttention and router call and a sequence of
                    buffer calls. They mirror the decoder's reading order as of
                    this commit; if the decoder changes they still seed the
                    fuzzer, only less directly.

The files are committed; rerun this after changing a format, then commit.
"""
import os
import struct
import sys


# ---- .npy ---------------------------------------------------------------------------------
def npy(descr, shape, data=b"", version=1, header=None):
    if header is None:
        dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
        header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    h = header.encode("latin1")
    pre = 10 if version == 1 else 12
    h += b" " * ((64 - (pre + len(h) + 1) % 64) % 64) + b"\n"
    length = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + length + h + data


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def f4(shape, scale=0.25):
    n = count(shape)
    return npy("<f4", shape, struct.pack("<%df" % n, *[scale * ((i * 7) % 11 - 5) for i in range(n)]))


def f2(shape):
    n = count(shape)
    return npy("<f2", shape, struct.pack("<%de" % n, *[0.125 * ((i * 5) % 9 - 4) for i in range(n)]))


def bf16(shape):
    n = count(shape)
    bits = [struct.unpack("<I", struct.pack("<f", 0.25 * ((i * 3) % 7 - 3)))[0] >> 16 for i in range(n)]
    return npy("<u2", shape, struct.pack("<%dH" % n, *bits))


def i4(values):
    return npy("<i4", (len(values),), struct.pack("<%di" % len(values), *values))


def i4_2d(rows):
    flat = [v for r in rows for v in r]
    return npy("<i4", (len(rows), len(rows[0])), struct.pack("<%di" % len(flat), *flat))


def u1(shape, pattern):
    n = count(shape)
    return npy("|u1", shape, bytes(pattern[i % len(pattern)] for i in range(n)))


def npy_seeds():
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"
    return {
        "f4_2x3": f4((2, 3)),
        "f2_4": f2((4,)),
        "u2_1x1x64": bf16((1, 1, 64)),
        "i4_3": i4([0, 3, 5]),
        "u1_2x2x2x2": u1((2, 2, 2, 2), [0, 1, 7]),
        "b1_scalar": npy("|b1", (), b"\x01"),
        "f4_empty_0x4": npy("<f4", (0, 4)),
        "f4_version2": npy("<f4", (2,), struct.pack("<2f", 1.0, 2.0), version=2),
        "f4_native_order": npy("=f4", (1,), struct.pack("<f", 1.0)),
        "f4_python2_longs": npy("<f4", (), struct.pack("<2f", 1, 2), header=hdr % "(1L, 2L)"),
        "bad_big_endian": npy(">f4", (1,), b"\0\0\0\0"),
        "bad_fortran": npy("<f4", (), b"\0" * 8, header="{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }"),
        "bad_f8": npy("<f8", (1,), b"\0" * 8),
        "bad_truncated": f4((4, 4))[:-8],
        "bad_trailing": f4((2,)) + b"\0\0\0\0",
        "bad_huge_rows": npy("<f4", (1 << 62, 1, 64)),
        "bad_16gib_claim": npy("<f4", (1 << 28, 16, 1)),
        "bad_nine_dims": npy("<f4", (1,) * 9, b"\0" * 4),
        "bad_negative": npy("<f4", (), header=hdr % "(-1,)"),
        "bad_no_commas": npy("<f4", (), b"\0" * 16, header=hdr % "(2 2)"),
        "bad_header_length": b"\x93NUMPY\x01\x00\xff\xff{'descr'",
        "bad_version3": npy("<f4", (1,), b"\0" * 4).replace(b"NUMPY\x01", b"NUMPY\x03", 1),
    }


# ---- elattn-run: argv, then records (name index, 16-bit length, bytes) ----------------------
NAMES = ["q.npy", "k.npy", "v.npy", "cu_seqlens_q.npy", "cu_seqlens_k.npy", "modes.npy", "block_mask.npy",
         "taus.npy", "keys.npy", "cu_seqlens.npy", "task_w1.npy", "task_b1.npy", "task_w2.npy", "task_b2.npy",
         "head_w1.npy", "head_b1.npy", "head_w2.npy", "head_b2.npy", "head_w3.npy", "head_b3.npy"]


def run_input(argv, files):
    out = b"".join(a.encode() + b"\0" for a in argv) + b"\0"
    for name, content in files.items():
        assert len(content) < 65536, name
        out += bytes([NAMES.index(name)]) + struct.pack("<H", len(content)) + content
    return out


def elattn_run_seeds():
    base = ["--backend", "reference", "--in", "in", "--out", "out"]
    attn = {"q.npy": f2((6, 2, 64)), "k.npy": f2((6, 1, 64)), "v.npy": f2((6, 1, 64))}
    varlen = {"q.npy": f4((5, 2, 64)), "k.npy": f4((7, 1, 64), 0.5), "v.npy": f4((7, 1, 64), 1.0),
              "cu_seqlens_q.npy": i4([0, 2, 5]), "cu_seqlens_k.npy": i4([0, 3, 7]),
              "modes.npy": i4_2d([[0], [1]])}
    sparse = {"q.npy": bf16((4, 1, 64)), "k.npy": bf16((4, 1, 64)), "v.npy": bf16((4, 1, 64)),
              "modes.npy": i4_2d([[2]]), "block_mask.npy": u1((1, 1, 1, 1), [1])}
    xattn = {"q.npy": f2((20, 2, 64)), "k.npy": f2((20, 1, 64)), "cu_seqlens_q.npy": i4([0, 20]),
             "cu_seqlens_k.npy": i4([0, 20]), "taus.npy": npy("<f4", (1,), struct.pack("<f", 0.9))}
    d, hidden = 8, 16
    router = {"keys.npy": f4((6, 2, d)), "cu_seqlens.npy": i4([0, 2, 6]),
              "task_w1.npy": f4((hidden, d)), "task_b1.npy": f4((hidden,)), "task_w2.npy": f4((d, hidden)),
              "task_b2.npy": f4((d,)), "head_w1.npy": f4((hidden, d)), "head_b1.npy": f4((hidden,)),
              "head_w2.npy": f4((d, hidden)), "head_b2.npy": f4((d,)), "head_w3.npy": f4((2, d)),
              "head_b3.npy": f4((2,))}
    bad_cu = dict(varlen, **{"cu_seqlens_q.npy": i4([0, -2147483648, 2147483647, 5])})
    # decode: histories of 7 and 9 rows (their last 2 and 3 the step's), a BLOCK_SPARSE head beside others
    decode = {"q.npy": f4((5, 2, 64)), "k.npy": f4((16, 1, 64), 0.5), "v.npy": f4((16, 1, 64), 1.0),
              "cu_seqlens_q.npy": i4([0, 2, 5]), "cu_seqlens_k.npy": i4([0, 7, 16]),
              "modes.npy": i4_2d([[2], [1]])}
    return {
        "attn_f16": run_input(["attn"] + base + ["--sink", "2", "--local", "3", "--block", "16"], attn),
        "attn_f32_varlen_lse": run_input(["attn"] + base + ["--lse", "--causal", "0"], varlen),
        "attn_bf16_block_sparse": run_input(["attn"] + base + ["--block", "16"], sparse),
        "xattn_f16": run_input(["xattn"] + base + ["--stride", "4", "--block", "16"], xattn),
        "router_d8": run_input(["router"] + base + ["--modes", "full,streaming"], router),
        "decode_f32_quest": run_input(["decode"] + base + ["--sink", "1", "--local", "3", "--page", "2",
                                                           "--page-budget", "1", "--lse"], decode),
        # page summaries kept, but no BLOCK_SPARSE head to summarise: the append's empty page list
        # (fuzz_elattn_run's first finding, UBSan: an offset applied to a null list)
        "decode_f32_budget_no_block_sparse": run_input(["decode"] + base + ["--page", "2", "--page-budget", "1"],
                                                       dict(decode, **{"modes.npy": i4_2d([[0], [1]])})),
        "help": run_input(["--help"], {}),
        "bad_cu_overflow": run_input(["attn"] + base, bad_cu),
        "bad_option": run_input(["attn"] + base + ["--sink", "x"], attn),
        "bad_huge_q": run_input(["attn"] + base, dict(attn, **{"q.npy": npy("<f2", (1 << 40, 2, 64))})),
    }


# ---- fuzz_api: the decoder's reading order (fuzz_api.c) -----------------------------------
def small(v):       # pick_int: a byte below 64 is its own value
    assert 0 <= v < 64
    return bytes([v])


def i16(v):         # pick_int: 0x80, then 16 bits
    return bytes([0x80, v & 255, v >> 8])


def i32(v):         # pick_int: 0xc0, then 32 bits
    return bytes([0xC0]) + struct.pack("<I", v & 0xFFFFFFFF)


def give(how):      # pool_give: exactly the size it needs (byte 3), made by `how` (0 alloc, 1 wrap, 2 view)
    return bytes([3, how])


SEED = b"\x11\x22\x33\x44"


def api_seeds():
    attn = (b"\x00" + small(0) + i16(64) + small(2) + small(1) + small(2) + small(40) + small(40) + small(1)
            + b"\x00" + small(4) + small(16) + small(16) + small(1) + b"\x00"   # scale 0, no options
            + bytes([17, 30, 0]) + bytes([20, 35, 0])                           # cu_seqlens_q, cu_seqlens_k
            + bytes([0, 2, 0]) + b"\x01"                                         # modes FULL, BLOCK_SPARSE
            + SEED + give(0) + give(1) + give(2) + give(2)                      # q, k, v, o
            + give(0) + give(0)                                                 # lse, block_mask
            + b"\x01" + b"\x05" + b"\x01")                                      # no workspace, no alias, stream
    xattn = (b"\x01" + small(1) + i16(128) + small(4) + small(2) + small(1) + small(50) + small(50) + small(1)
             + b"\x00" + small(8) + small(16) + b"\x00"
             + bytes([45, 0]) + bytes([45, 0])
             + bytes([2, 1, 0]) + b"\x01"                                        # modes, given
             + b"\x05" + b"\x01\xc8" + b"\x01"                                   # one threshold 0.05+0.95*200/255
             + SEED + give(0) + give(1) + give(2) + b"\x01" + b"\x01" + b"\x00")
    router = (b"\x02" + small(0) + small(8) + small(32) + small(2) + small(2) + i16(300) + small(0) + small(1)
              + b"\x00" + bytes([150, 250, 0]) + SEED + give(0)
              + b"".join(give(i % 3) for i in range(10))                         # the ten weights
              + b"\x01" + give(0) + b"\x01" + b"\x01" + b"\x00")                 # logits, no ws, modes, stream
    buffers = (b"\x03" + SEED + b"\x01" + b"\x00\x04\x00" + b"\xff\x02\x01"     # roots of 1025 and 768 bytes
               + b"\x00\x00" + b"\x00\x00\x01\x20"                                # view [256, 288) of root 0
               + b"\x01\x00" + b"\x00\x05\x00\x64\x07\x01"                        # fill 100 bytes at 5 with 7
               + b"\x02\x00" + b"\x00\x01\x00\x10\x08\x04\x05\x0a\x14\x01"        # copy_2d 5 rows of 16
               + b"\x04\x01" + b"\x00\x03\x00\x3c\x01"                            # upload 60 bytes at 3
               + b"\x05\x02" + b"\x00\x03\x00\x3c\x01"                            # download them from the view
               + b"\x06\x02" + b"\x07\x00\x03\x00\x01")                           # free the view; events
    # Issue 16's two overflows, kept out by fuzz_api.c's guards until the core is fixed;
    # then these reproduce them at once. The mask of batch 65536 x Hkv 256 x 2^20 x 2^20
    # blocks has 2^64 bytes (wraps to 0); a 2-D copy of 3 rows with pitch 2^63 spans
    # 2 * 2^63 + 16 bytes (wraps to 16).
    mask_wrap = (b"\x00" + small(0) + i16(64) + i16(256) + i16(256) + i32(65536) + i32(1 << 24) + i32(1 << 24)
                 + small(1) + b"\x00" + small(0) + small(1) + small(16) + small(0) + b"\x00")
    copy_wrap = (b"\x03" + SEED + b"\x00" + b"\x00\x01\x00"                    # one root of 257 bytes
                 + b"\x02\x00" + b"\x00\x00\xff" + b"\x00\x59\x00\x59\x10\x03\x01")  # pitches 2^63, 3 rows of 16
    return {"attn_f32_d64_varlen_sparse": attn, "xattn_f16_d128": xattn, "router_d8": router,
            "buffers_view_fill_copy": buffers, "issue16_mask_bytes_wrap": mask_wrap,
            "issue16_copy_2d_extent_wrap": copy_wrap}


# ---- safetensors --------------------------------------------------------------------------
import json  # noqa: E402

ROUTER = [("cls_feat_extractor.0.weight", [8, 4]), ("cls_feat_extractor.0.bias", [8]),
          ("cls_feat_extractor.2.weight", [4, 8]), ("cls_feat_extractor.2.bias", [4]),
          ("cls_router_head_agnostic.0.weight", [8, 4]), ("cls_router_head_agnostic.0.bias", [8]),
          ("cls_router_head_agnostic.2.weight", [4, 8]), ("cls_router_head_agnostic.2.bias", [4]),
          ("cls_router_head_agnostic.4.weight", [2, 4]), ("cls_router_head_agnostic.4.bias", [2])]
ST_SIZE = {"F32": 4, "F16": 2, "BF16": 2}


def st_file(entries, metadata=None):
    """entries: (name, dtype, shape, data bytes), laid out in order."""
    header, off, blob = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dt, shape, data in entries:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blob += data
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def router_entries(dt):
    out = []
    for i, (name, shape) in enumerate(ROUTER):
        n = count(shape)
        if dt == "F32":
            data = struct.pack("<%df" % n, *[0.125 * ((i + j) % 7 - 3) for j in range(n)])
        elif dt == "F16":
            data = struct.pack("<%de" % n, *[0.125 * ((i + j) % 7 - 3) for j in range(n)])
        else:  # bf16: the high half of the fp32 bits
            data = b"".join(struct.pack("<f", 0.125 * ((i + j) % 7 - 3))[2:] for j in range(n))
        out.append(("model.layers.0.self_attn.mask_allocator." + name, dt, shape, data))
    return out


def safetensors_seeds():
    every = [("t_" + dt, dt, shape, b"\0" * size) for dt, shape, size in
             [("BOOL", [3], 3), ("F4", [2, 3], 3), ("F6_E2M3", [4], 3), ("U8", [2], 2), ("F8_E8M0", [1], 1),
              ("I16", [2], 4), ("BF16", [1, 1], 2), ("U32", [], 4), ("C64", [1], 8), ("U64", [0], 0)]]
    index = {"metadata": {"total_size": 416, "note": "caf\u00e9 \ud83d\ude00", "list": [1, -2.5e-3, None, True]},
             "weight_map": {"model.layers.0.self_attn.mask_allocator." + n: "shard.safetensors" for n, _ in ROUTER}}
    good = st_file(router_entries("F32"))
    n = struct.unpack("<Q", good[:8])[0]
    bad_overlap = good[:8] + good[8:8 + n].replace(b'"data_offsets":[128,', b'"data_offsets":[120,', 1) + good[8 + n:]
    return {
        "router_f32": b"\x00" + good,
        "router_bf16_metadata": b"\x00" + st_file(router_entries("BF16"), {"format": "pt"}),
        "router_f16": b"\x00" + st_file(router_entries("F16")),
        "every_dtype": b"\x00" + st_file(every),
        "empty": b"\x00" + st_file([]),
        "bad_overlap": b"\x00" + bad_overlap,
        "bad_truncated": b"\x00" + good[:-5],
        "bad_length": b"\x00" + struct.pack("<Q", 1 << 40) + good[8:],
        "index": b"\x01" + json.dumps(index).encode(),
        "index_escape": b"\x01" + json.dumps({"weight_map": {"a": "../shard.safetensors"}}).encode(),
    }


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    for target, seeds in (("npy", npy_seeds()), ("elattn_run", elattn_run_seeds()), ("api", api_seeds()),
                          ("safetensors", safetensors_seeds())):
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, content in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(content)
        print(f"{d}: {len(seeds)} seeds, largest {max(len(c) for c in seeds.values())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
