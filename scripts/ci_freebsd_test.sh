#!/bin/sh
# Inside the FreeBSD VM (vmactions/freebsd-vm, as root): what FreeBSD users meet.
#  1. `pip install` of the sdist, built with Rust from pkg: what `pip install
#     game-with-pyo3` does on FreeBSD, since PyPI refuses FreeBSD wheels. The suite
#     runs against the wheel pip built (suite.py --from-sdist).
#  2. The GitHub Release's FreeBSD wheel, where pip accepts its tag: pip matches
#     freebsd_<release>_amd64 against `uname -r` exactly, so only on that release.
#   usage: WHEEL=true|false scripts/ci_freebsd_test.sh DIST
set -eu
dist=${1:?dist}
# FreeBSD's package set builds py-* ports for its default Python flavour only, and the
# default moves: the python3 metapackage follows it, and its interpreter names the
# flavour of the pip and packaging packages to install (py311-pip while 3.11 is default).
pkg install -y python3 rust
flavour=$(python3 -c 'import sys; print("py%d%d" % sys.version_info[:2])')
pkg install -y "$flavour-pip" "$flavour-packaging"
echo "FreeBSD $(uname -r), $flavour; testing the wheel asset too: ${WHEEL:?WHEEL}"
if [ "$WHEEL" = true ]; then
  python3 scripts/suite.py "$dist" --require-all --from-sdist --python python3
else
  python3 scripts/suite.py "$dist" --require-all --from-sdist --sdist-only --python python3
fi
