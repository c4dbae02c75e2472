#!/usr/bin/env bash
# Every wheel and sdist in DIR carries build provenance signed by this repository's
# reusable build workflow (SLSA Build Level 3): the gate checks it before publishing,
# verify-release again on the GitHub Release's assets.
#   usage: GH_TOKEN=... scripts/ci_verify_provenance.sh DIR OWNER/REPO
set -euo pipefail
dir=${1:?directory}
repository=${2:?owner/repo}
shopt -s nullglob
artifacts=("$dir"/*.whl "$dir"/*.tar.gz)
if [[ ${#artifacts[@]} -eq 0 ]]; then
  echo "no wheels or sdist in $dir" >&2
  exit 1
fi
for artifact in "${artifacts[@]}"; do
  gh attestation verify "$artifact" --repo "$repository" \
    --signer-workflow "$repository/.github/workflows/build.yml"
done
