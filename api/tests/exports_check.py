#!/usr/bin/env python3
"""What the shared objects export, from `nm -D --defined-only`.

  exports_check.py HEADER CORE [MODULE ...]

CORE must export exactly the functions HEADER declares with ELATTN_API (no
helper of the core, no symbol of a static library linked in, none missing);
each MODULE exactly the one entry point the core looks up. Exit 1 naming every
difference.
"""
import re
import subprocess
import sys

MODULE_ENTRY = "elattn_backend_module"


def exported(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            names.add(parts[2].split("@")[0])
    return names


def declared(header):
    text = open(header, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # comments mention names too
    return set(re.findall(r"ELATTN_API[^;(]*?\b(elattn_\w+)\s*\(", text))


def compare(path, got, want):
    bad = 0
    for name in sorted(got - want):
        print(f"FAIL {path}: exports {name}, which it should not")
        bad += 1
    for name in sorted(want - got):
        print(f"FAIL {path}: does not export {name}")
        bad += 1
    if not bad:
        print(f"ok   {path}: exports exactly its {len(want)} symbol(s)")
    return bad


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    header, core, modules = sys.argv[1], sys.argv[2], sys.argv[3:]
    api = declared(header)
    if len(api) < 40:  # the parse itself must not pass by finding nothing
        print(f"FAIL {header}: found only {len(api)} ELATTN_API functions")
        return 1
    bad = compare(core, exported(core), api)
    for m in modules:
        bad += compare(m, exported(m), {MODULE_ENTRY})
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
