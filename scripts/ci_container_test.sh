#!/usr/bin/env bash
# One CI test cell group: scripts/suite.py inside a manylinux/musllinux image (under
# QEMU for foreign architectures). The images keep every CPython in /opt/python; the
# manifest row's ci_test_pythons say which must be there, and --require-all fails the
# job if one is missing or a wheel did not run on it.
#   usage: scripts/ci_container_test.sh IMAGE PLATFORM
set -euo pipefail
image=${1:?image}
platform=${2:?platform}
# packaging is the driver's one third-party import: uv.lock's version and file hashes,
# from a wheel. The suite's own dependencies are installed per venv by suite.py, from
# uv.lock.
packaging_requirement=$(python3 scripts/dev.py locked-requirement packaging)
docker run --rm --platform "$platform" -v "$PWD:/io" -w /io \
  -e PACKAGING_REQUIREMENT="$packaging_requirement" "$image" sh -c '
  set -e
  driver=/opt/python/cp312-cp312/bin/python
  printf "%s\n" "$PACKAGING_REQUIREMENT" > /tmp/packaging-requirement.txt
  "$driver" -m pip install --quiet --disable-pip-version-check --only-binary :all: \
    --require-hashes -r /tmp/packaging-requirement.txt
  "$driver" scripts/suite.py dist --require-all --python-glob "/opt/python/cp3*/bin/python"
'
