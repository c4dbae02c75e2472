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
pkg install -y python311 py311-pip py311-packaging rust
echo "FreeBSD $(uname -r); testing the wheel asset too: ${WHEEL:?WHEEL}"
if [ "$WHEEL" = true ]; then
  python3.11 scripts/suite.py "$dist" --require-all --from-sdist --python python3.11
else
  python3.11 scripts/suite.py "$dist" --require-all --from-sdist --sdist-only --python python3.11
fi
