#!/usr/bin/env python3
"""Malformed input for elattn-run: every case must exit 2 with a message that
names the file or option, never crash, never allocate what the file does not hold.

usage: cli_bad_input.py PATH/TO/elattn-run

Plain Python (no NumPy): the .npy files are written byte by byte, so that
headers can lie. A case fails on a signal, a sanitizer report, an exit code
other than the one expected, or a message without the words it must contain.
Where the operating system allows it, elattn-run runs with its address space
limited to 1 GiB, so that a reader that trusts a header's size fails visibly
(out of memory) instead of reserving memory it never touches.
"""
import os
import resource
import struct
import subprocess
import sys
import tempfile

failures = []
AS_LIMIT = 1 << 30


def npy_bytes(descr, shape, data=b"", version=1, header=None):
    """A .npy file; `header` replaces the dict text when given (to write broken ones)."""
    if header is None:
        dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
        header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    h = header.encode("latin1")
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(h) + 1) % 64) % 64
    h += b" " * pad + b"\n"
    length = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + length + h + data


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def i32(values):
    return struct.pack("<%di" % len(values), *values)


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def can_limit(exe):
    """Sanitizer builds reserve terabytes of address space: there the limit cannot be used."""
    try:
        p = subprocess.run([exe, "--help"], capture_output=True, preexec_fn=limit_memory, timeout=60)
        return p.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def run(exe, args, limited):
    return subprocess.run([exe] + args, capture_output=True, text=True, timeout=120,
                          preexec_fn=limit_memory if limited else None)


def expect(name, p, rc, words, absent=()):
    """rc and every word of `words` in stderr; none of `absent`; no signal, no sanitizer."""
    err = p.stderr
    problems = []
    if p.returncode < 0:
        problems.append(f"killed by signal {-p.returncode}")
    elif p.returncode != rc:
        problems.append(f"exit {p.returncode}, expected {rc}")
    if "Sanitizer" in err or "runtime error" in err:
        problems.append("sanitizer report")
    problems += [f"message lacks {w!r}" for w in words if w not in err]
    problems += [f"message has {w!r}" for w in absent if w in err]
    print(("ok   " if not problems else "FAIL ") + name + (": " + "; ".join(problems) if problems else ""))
    if problems:
        print("     stderr: " + err.strip().replace("\n", "\n             "))
        failures.append(name)


def write_case(root, name, files):
    d = os.path.join(root, name)
    os.makedirs(d)
    for fname, content in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(content)
    return d


def valid_qkv(rows=4, hq=1, hkv=1, d=64, rows_k=None):
    rows_k = rows if rows_k is None else rows_k
    return {
        "q.npy": npy_bytes("<f4", (rows, hq, d), f32([0.25] * (rows * hq * d))),
        "k.npy": npy_bytes("<f4", (rows_k, hkv, d), f32([0.5] * (rows_k * hkv * d))),
        "v.npy": npy_bytes("<f4", (rows_k, hkv, d), f32([1.0] * (rows_k * hkv * d))),
    }


def read_f32_npy(path):
    """(shape, values) of a little-endian float32 .npy written by elattn-run."""
    with open(path, "rb") as f:
        raw = f.read()
    hlen = struct.unpack("<H", raw[8:10])[0]
    header = raw[10:10 + hlen].decode("latin1")
    shape = tuple(int(x) for x in header.split("(")[1].split(")")[0].split(",") if x.strip())
    data = raw[10 + hlen:]
    return shape, struct.unpack("<%df" % (len(data) // 4), data)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    exe = sys.argv[1]
    limited = can_limit(exe)
    print(f"address space limit {AS_LIMIT >> 20} MiB: {'on' if limited else 'off (sanitizer build)'}")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        os.makedirs(out)

        def attn(name, files, rc, words, absent=(), extra=()):
            d = write_case(tmp, name, files)
            expect(name, run(exe, ["attn", "--backend", "reference", "--in", d, "--out", out] + list(extra),
                             limited), rc, words, absent)

        # Element counts that overflow 64 bits must be refused, not wrapped to a small size.
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (1 << 62, 1, 64))
        attn("q.npy claims 2^62 rows", f, 2, ["q.npy", "too large"])
        f = valid_qkv()
        f["cu_seqlens_q.npy"] = npy_bytes("<i4", (1 << 62,))
        f["cu_seqlens_k.npy"] = npy_bytes("<i4", (2,), i32([0, 4]))
        attn("cu_seqlens_q.npy claims 2^62 entries", f, 2, ["cu_seqlens_q.npy", "too large"])
        # A header's size is checked against the file before anything is allocated.
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (1 << 28, 16, 1))  # 16 GiB in a 128-byte file
        attn("q.npy claims 16 GiB in 128 bytes", f, 2, ["q.npy", "17179869184 bytes"], absent=["out of memory"])
        f = valid_qkv()
        f["k.npy"] = npy_bytes("<f4", (4, 1, 64), f32([0.5] * 128))
        attn("k.npy data cut in half", f, 2, ["k.npy", "1024 bytes", "512"])
        f = valid_qkv()
        f["v.npy"] = npy_bytes("<f4", (4, 1, 64), f32([1.0] * 257))
        attn("v.npy with trailing bytes", f, 2, ["v.npy", "1024 bytes", "1028"])
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (), header="{'descr': '<f4', 'fortran_order': False, 'shape': (4, 1, 64), }")[:40]
        attn("q.npy header cut short", f, 2, ["q.npy", "header"])
        f = valid_qkv()
        f["q.npy"] = b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFFF) + b"{}"
        attn("q.npy header length 4 GiB", f, 2, ["q.npy", "header"], absent=["out of memory"])
        # Dimensions: negative, beyond int32 (elattn's shapes are int), beyond 64 bits.
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (), header="{'descr': '<f4', 'fortran_order': False, 'shape': (-4, 1, 64), }")
        attn("q.npy negative dimension", f, 2, ["q.npy", "shape"])
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (), header="{'descr': '<f4', 'fortran_order': False, "
                               "'shape': (99999999999999999999, 1, 64), }")
        attn("q.npy dimension beyond 64 bits", f, 2, ["q.npy", "dimension 0", "2147483647"],
             absent=["out of memory"])
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (2147483647, 2147483647, 2147483647))
        attn("q.npy with 2^93 elements", f, 2, ["q.npy", "too large", "overflows"])
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (1, 1, 1, 1, 1, 1, 1, 1, 1))
        attn("q.npy with 9 dimensions", f, 2, ["q.npy", "more than 8 dimensions"])
        f = valid_qkv()
        f["k.npy"] = npy_bytes("<f4", (0, 1 << 31, 64))  # zero bytes, but Hkv 2^31
        attn("k.npy dimension 2^31 with no data", f, 2, ["k.npy", "dimension 1", "2147483647"])
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (), header="{'descr': '<f4', 'fortran_order': False, 'shape': (4 1 64), }")
        attn("q.npy shape without commas", f, 2, ["q.npy", "shape"])
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (4, 1, 64), f32([0.0] * 256))[:-4] + b"\x00" * 4
        f["q.npy"] = f["q.npy"].replace(b"'<f4'", b"'<f8'")
        attn("q.npy dtype <f8", f, 2, ["q.npy", "<f8"])
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (), header="{'descr': '<f4, 'fortran_order': False, 'shape': (4, 1, 64), }")
        attn("q.npy descr without closing quote", f, 2, ["q.npy", "descr"])
        f = valid_qkv()
        f["q.npy"] = npy_bytes("<f4", (4, 64), f32([0.0] * 256))
        attn("q.npy two dimensions", f, 2, ["q.npy", "shape"])
        f = valid_qkv()
        f["block_mask.npy"] = npy_bytes("|u1", (1, 1, 2, 2), bytes(4))  # cells of 2-token blocks, run with --block 128
        attn("block_mask.npy made for another block size", f, 2,
             ["block_mask.npy", "--block 128", "shape (1,1,2,2), expected (1,1,1,1)"])
        d = write_case(tmp, "out directory missing", valid_qkv())
        expect("--out directory missing", run(exe, ["attn", "--backend", "reference", "--in", d, "--out",
                                                    os.path.join(tmp, "no-such-dir")], limited),
               1, ["--out", "no-such-dir", "o.npy"])
        f = valid_qkv()
        os.makedirs(os.path.join(tmp, "dir_as_q", "q.npy"))
        d = os.path.join(tmp, "dir_as_q")
        for n in ("k.npy", "v.npy"):
            with open(os.path.join(d, n), "wb") as fh:
                fh.write(f[n])
        expect("q.npy is a directory", run(exe, ["attn", "--backend", "reference", "--in", d, "--out", out], limited),
               2, ["q.npy", "not a regular file"])

        # cu_seqlens: checked before elattn-run does any arithmetic on the entries.
        for label, cu in (("empty", []), ("one entry", [0]), ("first entry 5", [5, 4]),
                          ("decreasing", [0, 3, 1, 4]), ("INT32_MIN then INT32_MAX", [0, -2147483648, 2147483647, 4]),
                          ("last entry not the row count", [0, 2, 3])):
            f = valid_qkv()
            f["cu_seqlens_q.npy"] = npy_bytes("<i4", (len(cu),), i32(cu))
            f["cu_seqlens_k.npy"] = npy_bytes("<i4", (len(cu),), i32(cu))
            attn("cu_seqlens_q.npy " + label, f, 2, ["cu_seqlens_q.npy"])
        f = valid_qkv()
        f["cu_seqlens_q.npy"] = npy_bytes("<f4", (2,), f32([0, 4]))
        attn("cu_seqlens_q.npy float32", f, 2, ["cu_seqlens_q.npy", "<f4"])

        # Options.
        f = valid_qkv()
        attn("--sink not a number", f, 2, ["--sink", "abc"], extra=["--sink", "abc"])
        attn("--block 0", f, 2, ["block_size"], extra=["--block", "0"])
        attn("--local beyond int", f, 2, ["--local"], extra=["--local", "99999999999"])
        attn("unknown option", f, 2, ["--bogus"], extra=["--bogus", "1"])
        attn("--causal without a value", f, 2, ["--causal"], extra=["--causal"])

        # Without cu_seqlens files, q and k are one element each, of their own lengths
        # (1 query row against 3 keys: chunked prefill). V is all ones, so O must be too.
        d = write_case(tmp, "chunked_default_cu", valid_qkv(rows=1, rows_k=3))
        p = run(exe, ["attn", "--backend", "reference", "--in", d, "--out", out, "--causal", "1"], limited)
        expect("default cu_seqlens with 1 query row and 3 keys", p, 0, [])
        if p.returncode == 0:
            shape, o = read_f32_npy(os.path.join(out, "o.npy"))
            ok = shape == (1, 1, 64) and all(abs(x - 1.0) < 1e-6 for x in o)
            print(("ok   " if ok else "FAIL ") + f"o.npy of that case: shape {shape}, all ones: {ok}")
            if not ok:
                failures.append("default cu_seqlens O")

        # xattn and router read cu_seqlens the same way.
        f = valid_qkv()
        f["cu_seqlens_q.npy"] = npy_bytes("<i4", (0,))
        d = write_case(tmp, "xattn_empty_cu", f)
        expect("xattn: cu_seqlens_q.npy empty",
               run(exe, ["xattn", "--backend", "reference", "--in", d, "--out", out, "--stride", "8", "--block", "16"],
                   limited), 2, ["cu_seqlens_q.npy"])
        d = write_case(tmp, "router_huge_keys", {"keys.npy": npy_bytes("<f4", (1 << 40, 1 << 30, 1 << 20))})
        expect("router: keys.npy claims 2^90 elements",
               run(exe, ["router", "--backend", "reference", "--in", d, "--out", out, "--modes", "full,streaming"],
                   limited), 2, ["keys.npy"], absent=["out of memory"])

    print(f"cli bad input: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
