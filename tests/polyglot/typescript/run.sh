#!/usr/bin/env bash
# TypeScript clients of openapi.yaml, generated two ways, and one flow for each against the sandbox:
#
#   openapi-fetch   types from openapi-typescript, calls through openapi-fetch
#   hey-api         @hey-api/openapi-ts with the fetch client it bundles
#
# Called by tests/polyglot/run.sh (which starts the sandbox and sets SANDBOX_* and POLYGLOT_*).
# Everything it installs or generates goes to $POLYGLOT_WORK:
#
#   node_modules/      npm ci of package-lock.json (kept while the lock file is unchanged)
#   generated/         both clients, generated anew from $POLYGLOT_SPEC on every run
#   build/             the flows and clients compiled by tsc (strict), run with plain node
#   generate.log       the generators' output (warnings are counted from it), npm-ci.log, tsc.log
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${POLYGLOT_WORK:?set by tests/polyglot/run.sh}"
spec="${POLYGLOT_SPEC:?set by tests/polyglot/run.sh}"
mkdir -p "$work"
cd "$work"

# Shows a log and fails when a step does.
step() {
  local log="$1"
  shift
  if ! nice "$@" >>"$log" 2>&1; then
    echo "typescript: '$*' failed; its output ($work/$log):" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

# 1. The pinned tools, installed once: npm ci runs again only when the lock file changed.
# (@hey-api/openapi-ts 0.99.0 declares node >=22.18 and npm warns about it; it runs on node 20.)
if ! cmp -s "$here/package-lock.json" package-lock.json || [ ! -d node_modules ]; then
  cp "$here/package.json" "$here/package-lock.json" .
  : >npm-ci.log
  step npm-ci.log npm ci --no-audit --no-fund --cache "$work/npm-cache"
fi

# 2. The flows' sources and settings beside the generated clients, which they import.
rm -rf src generated build
cp -r "$here/src" "$here/tsconfig.json" "$here/openapi-ts.config.mjs" .

# 3. Both clients, from the contract.
: >generate.log
step generate.log node_modules/.bin/openapi-typescript "$spec" -o generated/openapi-fetch/schema.ts
# Settings in openapi-ts.config.mjs; no log files of its own (its output goes to generate.log).
step generate.log node_modules/.bin/openapi-ts -f openapi-ts.config.mjs -i "$spec" --no-log-file
warnings="$(grep -ciE 'warn|⚠' generate.log || true)"

# 4. Type-check (strict) and compile the clients with the flows, in one tsc run.
: >tsc.log
step tsc.log node_modules/.bin/tsc -p tsconfig.json

# 5. The flows. Each prints one line when every check passed.
node build/src/openapi-fetch-flow.js
node build/src/hey-api-flow.js
echo "typescript: 2 flows passed; generator warnings: $warnings (see $work/generate.log)"
