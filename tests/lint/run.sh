#!/usr/bin/env bash
# Lints openapi.yaml with the pinned Redocly CLI (recommended rules) and Spectral (spectral:oas);
# fails on an error of either, or a warning of Spectral. Called by .ci/run; by hand:
# tests/lint/run.sh. The tools are installed (npm ci) under target/contract-lint and reused.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$root/target/contract-lint"
mkdir -p "$work"
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json"; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  npm ci --prefix "$work" --silent --no-audit --no-fund
fi
bin="$work/node_modules/.bin"
# Redocly warns that Node 20 is near its end; that is not about the contract.
"$bin/redocly" lint --config "$here/redocly.yaml" --max-problems 50 "$root/openapi.yaml" 2>&1 \
  | grep -v '║\|╔\|╚'
"$bin/spectral" lint --ruleset "$here/.spectral.json" --fail-severity warn "$root/openapi.yaml"
