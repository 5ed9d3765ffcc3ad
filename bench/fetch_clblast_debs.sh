#!/usr/bin/env bash
# Here (a Debian machine with network): download Debian's CLBlast packages as .deb
# files into .debs/ at the repository root, for the GPU machine, which has no
# network and no CLBlast. There bench/clblast_debs_env.sh unpacks them.
#
#   bench/fetch_clblast_debs.sh        then: echo /.debs/ >> .git/info/exclude
#                                      and carry .debs with the working tree
#
# Only the two packages: libclblast1 (the library) and libclblast-dev (header,
# libclblast.so, clblast.pc). Their other dependencies (libc6, libstdc++6,
# libgcc-s1, an OpenCL ICD loader) are on the GPU machine already. The files are
# for this machine's architecture (amd64 expected there as here).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .debs
cd .debs
rm -f libclblast1_*.deb libclblast-dev_*.deb
if ! apt-get download libclblast1 libclblast-dev; then
    echo "fetch_clblast_debs: apt-get download failed; run 'sudo apt-get update' first?" >&2
    exit 1
fi
ls -l libclblast1_*.deb libclblast-dev_*.deb
