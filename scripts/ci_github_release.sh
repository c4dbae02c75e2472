#!/usr/bin/env bash
# The github-release job's one step: the GitHub Release for a tag with `gh`, its body the
# version's CHANGELOG section, its assets the files the gate listed in SHA256SUMS
# (FreeBSD wheels too) and SHA256SUMS itself. Re-runnable: when the release exists,
# the assets are uploaded again with --clobber.
#   usage: GH_TOKEN=... scripts/ci_github_release.sh vX.Y.Z DIST
set -euo pipefail
tag=${1:?tag}
dist=${2:?dist}
version=${tag#v}
notes=$(mktemp)
trap 'rm -f "$notes"' EXIT
uv run --no-sync python scripts/release.py notes "$version" > "$notes"
cd "$dist"
# Every listed file is there with the digest the gate wrote.
sha256sum --check --strict --quiet SHA256SUMS
mapfile -t assets < <(awk '{print $2}' SHA256SUMS)
assets+=(SHA256SUMS)
if gh release view "$tag" > /dev/null 2>&1; then
  gh release upload "$tag" --clobber "${assets[@]}"
else
  prerelease=()
  if [[ $version =~ (a|b|rc)[0-9]+$ ]]; then prerelease=(--prerelease); fi
  gh release create "$tag" --verify-tag "${prerelease[@]}" --title "game-with-pyo3 $version" \
    --notes-file "$notes" "${assets[@]}"
fi
