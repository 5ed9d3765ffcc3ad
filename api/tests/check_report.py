"""What the API tests written in Python share: check() prints each outcome and counts the
failures; summary() prints the count and gives the exit status."""
failures = 0


def check(ok, what, output=""):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1
        print(output)


def summary():
    print(f"{failures} failure(s)")
    return 1 if failures else 0
