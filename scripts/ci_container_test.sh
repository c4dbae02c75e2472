#!/usr/bin/env bash
# Run scripts/test_wheels.py inside a manylinux/musllinux image (under QEMU for foreign
# architectures): the images carry every CPython from 3.10 to 3.15 plus 3.14t/3.15t in
# /opt/python, so each wheel is tested on all of them.
#   usage: scripts/ci_container_test.sh IMAGE PLATFORM
set -euo pipefail
image=${1:?image}
platform=${2:?platform}
# packaging is the one third-party import of the driver; the suite's own dependencies
# are installed per venv by test_wheels.py.
docker run --rm --platform "$platform" -v "$PWD:/io" -w /io "$image" sh -c '
  set -e
  driver=/opt/python/cp312-cp312/bin/python
  "$driver" -m pip install --quiet --disable-pip-version-check packaging
  "$driver" scripts/test_wheels.py dist --require-all --python-glob "/opt/python/cp31[0-5]-*/bin/python"
'
