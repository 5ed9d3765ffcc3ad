#!/bin/sh
# Source on the GPU machine, from the repository root, before `meson setup`:
#
#   . bench/clblast_debs_env.sh
#
# Unpacks the CLBlast .deb files that bench/fetch_clblast_debs.sh put in .debs/
# into /tmp/clblast (CLBLAST_ROOT; never into /: that can break the machine's
# own packages), points its pkg-config file there, checks that the library
# loads, and only then exports PKG_CONFIG_PATH (for meson's
# dependency('clblast')) and LD_LIBRARY_PATH (for the library at run time).
#
# Assumes an amd64 system, Ubuntu- or Debian-like, with glibc >= 2.32 and a
# libstdc++ that has GLIBCXX_3.4.29 (what Debian bookworm's libclblast1 1.5.3 was
# built against; Ubuntu 22.04 and later have both) and an OpenCL ICD loader
# (libOpenCL.so.1). When a check fails it says why and exports nothing: meson
# then builds without CLBlast (-Dclblast=auto) or stops (-Dclblast=enabled).
# clblast_ok is 1 on success, 0 otherwise.
clblast_root=${CLBLAST_ROOT:-/tmp/clblast}
clblast_ok=1
for clblast_pkg in libclblast1 libclblast-dev; do
    clblast_deb=$(ls .debs/${clblast_pkg}_*.deb 2>/dev/null | head -1)
    if [ -z "$clblast_deb" ]; then
        echo "clblast_debs_env: no .debs/${clblast_pkg}_*.deb (run bench/fetch_clblast_debs.sh and carry .debs)" >&2
        clblast_ok=0
    elif [ "$clblast_pkg" = libclblast1 ]; then
        rm -rf "$clblast_root" && dpkg -x "$clblast_deb" "$clblast_root" || clblast_ok=0
    else
        dpkg -x "$clblast_deb" "$clblast_root" || clblast_ok=0
    fi
done
clblast_pc=
[ "$clblast_ok" = 1 ] && clblast_pc=$(ls "$clblast_root"/usr/lib/*/pkgconfig/clblast.pc 2>/dev/null | head -1)
if [ "$clblast_ok" = 1 ] && [ -z "$clblast_pc" ]; then
    echo "clblast_debs_env: no clblast.pc under $clblast_root" >&2
    clblast_ok=0
fi
if [ "$clblast_ok" = 1 ]; then
    # The .pc file says prefix=/usr and derives every other path from ${prefix}.
    sed -i "s|^prefix=.*|prefix=$clblast_root/usr|" "$clblast_pc"
    clblast_libdir=$(dirname "$(dirname "$clblast_pc")")
    # Can the dynamic loader resolve what libclblast needs here (glibc, libstdc++, libOpenCL)?
    if ldd "$clblast_libdir/libclblast.so.1" 2>&1 | grep -E "not found"; then
        echo "clblast_debs_env: $clblast_libdir/libclblast.so.1 cannot load on this system (above)" >&2
        clblast_ok=0
    fi
fi
if [ "$clblast_ok" = 1 ]; then
    export PKG_CONFIG_PATH="$(dirname "$clblast_pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export LD_LIBRARY_PATH="$clblast_libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "clblast_debs_env: CLBlast $(pkg-config --modversion clblast) in $clblast_root;" \
         "pkg-config --libs clblast: $(pkg-config --libs clblast)"
fi
