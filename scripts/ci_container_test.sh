#!/usr/bin/env bash
# One CI test cell group: scripts/suite.py inside a manylinux/musllinux image (under
# QEMU for foreign architectures). The images keep every CPython in /opt/python; the
# manifest row's ci_test_pythons say which must be there, and --require-all fails the
# job if one is missing or a wheel did not run on it.
#   usage: scripts/ci_container_test.sh IMAGE PLATFORM
set -euo pipefail
image=${1:?image}
platform=${2:?platform}
# packaging is the driver's one third-party import: pinned to uv.lock's version, from a
# wheel. The suite's own dependencies are installed per venv by suite.py, from uv.lock.
packaging_version=$(python3 scripts/dev.py locked-version packaging)
docker run --rm --platform "$platform" -v "$PWD:/io" -w /io \
  -e PACKAGING_VERSION="$packaging_version" "$image" sh -c '
  set -e
  driver=/opt/python/cp312-cp312/bin/python
  "$driver" -m pip install --quiet --disable-pip-version-check --only-binary :all: \
    "packaging==$PACKAGING_VERSION"
  "$driver" scripts/suite.py dist --require-all --python-glob "/opt/python/cp3*/bin/python"
'
