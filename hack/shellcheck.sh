#!/usr/bin/env bash
# Runs shellcheck on every shell file of the project: container scripts and our own scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.sh' '.ci/run' | sort -u)
[ ${#files[@]} -gt 0 ] || { echo "shellcheck: no shell files found" >&2; exit 1; }
shellcheck -x "${files[@]}"
echo "shellcheck: ${#files[@]} files clean"
