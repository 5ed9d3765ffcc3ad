#!/usr/bin/env python3
"""Backend modules that cannot be used leave their backend absent, with the
reason, and everything else working (the reference, modules that load).

  modules_check.py ELATTN_RUN ELATTN_CONFORMANCE FAKE_ABI_MODULE FAKE_NO_ENTRY_MODULE BUILT_BACKENDS [MODULE ...]

BUILT_BACKENDS: the modules this build made, ','-separated ("" for none);
MODULE: their files. Each case puts files named libelattn-<backend>.so in a
directory of ELATTN_BACKEND_PATH and reads `elattn-run --list`. A module whose
vendor runtime is absent is a copy of the real one whose dependency on the
runtime names a library that does not exist (same length, so the ELF stays
valid): what a HIP build meets on a CUDA-only machine.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from check_report import check, summary  # noqa: E402 (after the flag)

# The vendor runtime each module needs by name (the CUDA module carries its runtime).
RUNTIMES = {"opencl": b"libOpenCL.so", "hip": b"libamdhip64.so"}


def listing(run, path):
    env = dict(os.environ, ELATTN_BACKEND_PATH=path)
    p = subprocess.run([run, "--list"], env=env, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def backend_line(out, name):
    for line in out.splitlines():
        if line.startswith("backend ") and line.split()[1] == name:
            return line
    return ""


def main():
    run, conformance, fake_abi, fake_no_entry, built = sys.argv[1:6]
    built = [b for b in built.split(",") if b]
    module_files = {os.path.basename(m)[len("libelattn-"):-len(".so")]: m for m in sys.argv[6:]}
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad")
        os.mkdir(bad)
        with open(os.path.join(bad, "libelattn-opencl.so"), "w") as f:
            f.write("not an ELF file\n")
        shutil.copy(fake_abi, os.path.join(bad, "libelattn-cuda.so"))
        shutil.copy(fake_no_entry, os.path.join(bad, "libelattn-hip.so"))

        rc, out = listing(run, bad)
        check(rc == 0, "elattn-run --list exits 0 with three broken modules", out)
        check("dlopen failed" in backend_line(out, "opencl") and "libelattn-opencl.so" in backend_line(out, "opencl"),
              "a file that is no shared object: opencl absent, dlopen's message naming the file", out)
        check("built for backend ABI" in backend_line(out, "cuda"), "another ABI: cuda absent, saying so", out)
        check("not an elattn module" in backend_line(out, "hip"), "no entry point: hip absent, saying so", out)
        check("loaded" in backend_line(out, "reference") and "\nreference " in "\n" + out,
              "the reference is still listed and loaded", out)

        # A module that did not load is a failure of --allow-missing, not a skip.
        env = dict(os.environ, ELATTN_BACKEND_PATH=bad)
        p = subprocess.run([conformance, "--backend", "opencl", "--allow-missing", "--quick"], env=env,
                           capture_output=True, text=True, timeout=120)
        check(p.returncode not in (0, 77) and "did not load" in p.stderr,
              "elattn-conformance --allow-missing fails (not skips) on a module that did not load",
              p.stdout + p.stderr)

        # An empty directory first: the modules beside libelattn load.
        empty = os.path.join(tmp, "empty")
        os.mkdir(empty)
        rc, out = listing(run, empty + ":" + os.path.join(tmp, "missing"))
        for name in ("cuda", "hip", "opencl"):
            line = backend_line(out, name)
            if name in built:
                check(" loaded" in line, f"{name}: built, found beside libelattn and loaded", out)
            else:
                check("not found" in line and empty in line, f"{name}: not built, absent naming the directories searched",
                      out)
        # The real modules, with their runtime missing.
        gone = os.path.join(tmp, "no-runtime")
        os.mkdir(gone)
        tried = []
        for name, runtime in RUNTIMES.items():
            data = open(module_files[name], "rb").read() if name in module_files else b""
            if runtime not in data:
                continue  # not built, or built without that dependency (HIP through the CUDA layer)
            missing = runtime[:-3].replace(b"lib", b"nop", 1) + b".so"
            with open(os.path.join(gone, f"libelattn-{name}.so"), "wb") as f:
                f.write(data.replace(runtime, missing))
            tried.append((name, missing.decode()))
        if tried:
            rc, out = listing(run, gone)
            for name, missing in tried:
                line = backend_line(out, name)
                check(rc == 0 and "dlopen failed" in line and missing in line,
                      f"{name}: its runtime absent, the backend is absent with dlopen's reason naming it", out)
            check("\nreference " in "\n" + out, "... and the reference is still there", out)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
