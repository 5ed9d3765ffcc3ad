#!/usr/bin/env python3
"""A crashing or hanging kernel fails its case, not the run.

Runs elattn-conformance on the reference with the attention kernel forced to
reference.attn.fault_crash (it raises SIGSEGV) and checks that the run completes,
every attention case is FAIL with "crashed: signal 11", and the cases after
the crashes (XAttention, router, invalid arguments) still ran and passed. It
also checks that the kernel really kills a process run with --no-isolate (or
this test would prove nothing), and that isolation changes no line of the
CSV output of a run without crashes (seconds aside). Then the same for
reference.attn.fault_hang (it never returns) with --case-timeout: each case
fails as hung after the timeout and the next one runs in a new worker.

usage: isolate_check.py PATH/TO/elattn-conformance
"""
import json
import os
import re
import subprocess
import sys
import tempfile

RUNNER = sys.argv[1]
failures = []


def run(args, timeout=600):
    return subprocess.run([RUNNER] + args, capture_output=True, text=True, timeout=timeout)


def read_json(path):
    with open(path) as f:
        return json.load(f)["results"]


def csv_lines_without_seconds(path):
    # case names hold commas, so the CSV is compared as text: drop the seconds field after the guard
    with open(path) as f:
        return [re.sub(r",(ok|n/a|HIT),[0-9.]+,", r",\1,S,", line) for line in f]


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


with tempfile.TemporaryDirectory() as tmp:
    listed = run(["--list", "--quick"]).stdout.splitlines()
    names = [line.split()[1] for line in listed[:-1]]
    attn = [n for n in names if n.startswith("attn/")]
    expect(len(attn) > 0 and len(attn) < len(names), "the quick set has attention and other cases")

    # The kernel must really take a process down, or nothing below is tested.
    alone = run(["--backend", "reference", "--kernel", "reference.attn.fault_crash", "--case", attn[0], "--no-isolate"])
    expect(alone.returncode == -11, f"--no-isolate with the crash kernel died by SIGSEGV (returncode {alone.returncode})")

    path = os.path.join(tmp, "crash.json")
    r = run(["--backend", "reference", "--kernel", "reference.attn.fault_crash", "--quick", "--json", path])
    expect(r.returncode == 1, f"the isolated run exits 1 (failures), not {r.returncode}")
    summary = [l for l in r.stdout.splitlines() if l.startswith("conformance: ")]
    expect(len(summary) == 1, "the isolated run printed its summary line")
    rows = read_json(path) if os.path.exists(path) else []
    expect([row["case"] for row in rows] == names, "one result per quick case, in order")
    crashed = [row for row in rows if row["case"].startswith("attn/")]
    expect(all(row["status"] == "FAIL" and "crashed: signal 11" in row["detail"] for row in crashed),
           "every attention case is FAIL with 'crashed: signal 11'")
    later = [row for row in rows if not row["case"].startswith("attn/")]
    expect(len(later) > 0 and all(row["status"] in ("PASS", "UNSUPPORTED") for row in later),
           "the cases after the crashes ran and passed")
    expect(all(row["status"] == "PASS" or row["detail"].startswith("not applicable") for row in later),
           "every later case passed but the rows not applicable on the reference")

    # Same lines with and without isolation when nothing crashes.
    out = {mode: (os.path.join(tmp, mode + ".csv"), os.path.join(tmp, mode + ".json")) for mode in ("iso", "one")}
    common = ["--backend", "reference", "--quick", "--case", "invalid/"]
    ra = run(common + ["--csv", out["iso"][0], "--json", out["iso"][1]])
    rb = run(common + ["--csv", out["one"][0], "--json", out["one"][1], "--no-isolate"])
    expect(ra.returncode == 0 and rb.returncode == 0, "the invalid-argument rows pass in both modes")
    expect(csv_lines_without_seconds(out["iso"][0]) == csv_lines_without_seconds(out["one"][0]),
           "isolation changes no CSV line but the seconds")
    strip = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]
    expect(strip(read_json(out["iso"][1])) == strip(read_json(out["one"][1])),
           "isolation changes no JSON field but the seconds")
    table = lambda text: [re.sub(r" [0-9.]+s kernel=", " Ss kernel=", l) for l in text.splitlines()
                          if l.startswith("reference ")]
    expect(table(ra.stdout) == table(rb.stdout), "isolation changes no line of the printed table but the seconds")

    # A kernel that never returns: it must really hang (or the rest proves nothing), fail its case
    # as hung after --case-timeout, and the run must go on to the next case in a new worker.
    hang = ["--backend", "reference", "--kernel", "reference.attn.fault_hang", "--quick", "--case", "attn/window/"]
    window = [n for n in names if "attn/window/" in n]
    expect(len(window) == 2, "the quick set has two attn/window/ cases")
    try:
        run(hang + ["--no-isolate"], timeout=5)
        expect(False, "the hanging kernel returned within 5 s")
    except subprocess.TimeoutExpired:
        pass
    refused = run(hang + ["--no-isolate", "--case-timeout", "1"])
    expect(refused.returncode == 2 and "--case-timeout needs case isolation" in refused.stderr,
           "--case-timeout with --no-isolate is refused with a message")
    path = os.path.join(tmp, "hang.json")
    r = run(hang + ["--case-timeout", "1.5", "--json", path], timeout=120)
    expect(r.returncode == 1, f"the run with hung cases exits 1 (failures), not {r.returncode}")
    rows = read_json(path) if os.path.exists(path) else []
    expect([row["case"] for row in rows] == window, "one result per attn/window/ case, in order")
    expect(all(row["status"] == "FAIL" and row["detail"].startswith("hung: no result 1.5 s after it began")
               for row in rows), "every case is FAIL as hung after 1.5 s")
    expect(all(1.4 <= row["seconds"] < 30 for row in rows), "each hung case was given up after about 1.5 s")

if failures:
    sys.exit(1)
print("isolate_check: the crashing and the hanging kernel failed their cases alone;", len(names), "cases ran")
