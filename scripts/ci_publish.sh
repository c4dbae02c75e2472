#!/usr/bin/env bash
# The publish job's one step: sign PEP 740 attestations for the PyPI set with the job's
# OIDC identity, then upload with twine through trusted publishing (no token: twine
# exchanges the OIDC token itself). scripts/publish.py skips files PyPI already has,
# so the job can be re-run after a half-finished upload.
#   usage: scripts/ci_publish.sh DIST
set -euo pipefail
dist=${1:?dist}
mapfile -t files < <(sed "s|^|$dist/|" "$dist/pypi.txt")
uv run --no-sync python -m pypi_attestations sign "${files[@]}"
uv run --no-sync python scripts/publish.py "$dist" --to pypi --attestations
