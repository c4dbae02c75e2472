#!/usr/bin/env bash
# One container test cell: scripts/suite.py inside a manylinux/musllinux image (under
# QEMU for foreign architectures) on the interpreters the plan chose for the cell
# (scripts/plan.py), spelled "3.10" or "3.14t" (no container row ships a PyPy wheel, so
# no cell names one). The images keep every CPython in /opt/python; a path that is not
# there fails the cell, and --require-all fails it if one did not run the wheel it picks.
#   usage: scripts/ci_container_test.sh IMAGE PLATFORM "3.10 3.14 ..."
set -euo pipefail
image=${1:?image}
platform=${2:?platform}
pythons=${3:?interpreters}
args=()
for python in $pythons; do
  version=${python%t}
  abi=cp${version/./}
  [[ $python == *t ]] && abi_suffix=t || abi_suffix=
  args+=(--python "/opt/python/${abi}-${abi}${abi_suffix}/bin/python")
done
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
  "$driver" scripts/suite.py dist --require-all "$@"
' sh "${args[@]}"
