#!/usr/bin/env python3
"""Installs the build into a temporary directory and builds a consumer against
the installed tree, as an engine would, with pkg-config and with CMake; runs
each (it opens the reference device and says which modules loaded, from where).

  install_check.py MESON BUILD_DIR PREFIX LIBDIR CC BUILT_BACKENDS SOURCE_DIR

pkg-config sees only the installed elattn.pc (PKG_CONFIG_LIBDIR), so a
Requires on a vendor SDK's .pc (OpenCL.pc) would fail here.
"""
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from check_report import check, summary  # noqa: E402 (after the flag)



def run(cmd, env=None, cwd=None):
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout + p.stderr


def check_consumer(exe, libdir, built, how):
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    env.pop("ELATTN_BACKEND_PATH", None)
    rc, out = run([exe], env=env)
    check(rc == 0 and "reference device ok" in out, f"{how}: the consumer runs and opens the reference", out)
    for name in built:
        line = next((l for l in out.splitlines() if l.startswith(f"module {name} ")), "")
        check(f"loaded {libdir}/libelattn-{name}.so" in line,
              f"{how}: module {name} loaded from the installed libdir", out)


def main():
    meson, build, prefix, libdir, cc, built, source = sys.argv[1:8]
    built = [b for b in built.split(",") if b]
    with tempfile.TemporaryDirectory() as dest:
        rc, out = run([meson, "install", "-C", build, "--no-rebuild", "--destdir", dest])
        check(rc == 0, "meson install --destdir", out)
        if rc:
            return 1
        root = dest + prefix
        lib = os.path.join(root, libdir)
        consumer = os.path.join(source, "consumer")

        env = dict(os.environ, PKG_CONFIG_LIBDIR=os.path.join(lib, "pkgconfig"), PKG_CONFIG_SYSROOT_DIR=dest)
        env.pop("PKG_CONFIG_PATH", None)
        rc, flags = run(["pkg-config", "--cflags", "--libs", "elattn"], env=env)
        check(rc == 0, "pkg-config --cflags --libs elattn, with no other .pc file visible", flags)
        if rc == 0:
            exe = os.path.join(dest, "consumer-pkgconfig")
            rc, out = run([cc, os.path.join(consumer, "consumer.c"), "-o", exe] + flags.split())
            check(rc == 0, "pkg-config: the consumer compiles and links", out)
            if rc == 0:
                check_consumer(exe, lib, built, "pkg-config")

        cbuild = os.path.join(dest, "cmake-build")
        rc, out = run(["cmake", "-S", consumer, "-B", cbuild, "-DCMAKE_PREFIX_PATH=" + root,
                       "-DCMAKE_C_COMPILER=" + cc])
        check(rc == 0, "cmake: find_package(elattn) configures", out)
        if rc == 0:
            rc, out = run(["cmake", "--build", cbuild])
            check(rc == 0, "cmake: the consumer builds against elattn::elattn", out)
            if rc == 0:
                check_consumer(os.path.join(cbuild, "consumer"), lib, built, "cmake")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
