#!/usr/bin/env bash
# The Go client of the contract: openapi-generator's `go` generator (pinned in pom.xml) makes it
# from $POLYGLOT_SPEC into $POLYGLOT_WORK/client, `go vet` and `go build` compile it with the flow
# (main.go; go.mod pins the compiler), and the flow runs against the sandbox. Called by
# tests/polyglot/run.sh, which starts the sandbox and sets SANDBOX_* and POLYGLOT_*.
#
# Quiet on success: one line about the generation, then the flow's "go: N passed, 0 failed".
# The generator's output (and its warnings) is in $POLYGLOT_WORK/generator.log.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${POLYGLOT_WORK:?}" "${POLYGLOT_SPEC:?}" "${SANDBOX_URL:?}" "${SANDBOX_API_TOKEN:?}"
: "${SANDBOX_APP:?}" "${SANDBOX_DATABASE:?}"
work="$POLYGLOT_WORK"
log="$work/generator.log"

# The pins: the generator's version and checksum from pom.xml, the compiler from go.mod.
pom_property() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$here/pom.xml"; }
generator_version="$(pom_property openapi-generator.version)"
generator_sha256="$(pom_property openapi-generator.sha256)"
go_version="$(awk '$1 == "toolchain" { print $2 }' "$here/go.mod")"
jar="$work/generator/openapi-generator-cli-$generator_version.jar"

# 1. The generator: fetched once from Maven Central with the pom, then reused.
if [ ! -f "$jar" ] && ! nice mvn -B -C -f "$here/pom.xml" -Dmaven.repo.local="$work/m2" \
  -Dpolyglot.work="$work" dependency:copy >"$work/maven.log" 2>&1; then
  cat "$work/maven.log" >&2
  echo "go: Maven could not fetch the generator (log: $work/maven.log)" >&2
  exit 1
fi
if ! echo "$generator_sha256  $jar" | sha256sum --check --quiet >/dev/null 2>&1; then
  echo "go: $jar is not the jar whose SHA-256 pom.xml pins; delete it to fetch it again" >&2
  exit 1
fi

# 2. The client, generated anew from the contract on every run. The options, and why:
#  - disallowAdditionalPropertiesIfNotPresent=false: a schema without `additionalProperties`
#    accepts unknown fields (as OpenAPI says) instead of failing on them; the contract asks every
#    answer to be read that way, and BackupArchive does not say `additionalProperties: true`.
#  - packageName and the git-* names: a short package name and a module path that is never
#    fetched (`.invalid`); go.mod replaces it with the generated directory.
#  - no generated tests or docs: the tests need testify (a download) and nobody reads the docs here.
# (-XX:TieredStopAtLevel=1: the JVM lives a few seconds, so its quick compiler alone is faster.)
rm -rf "$work/client"
if ! nice java -XX:TieredStopAtLevel=1 -jar "$jar" generate -g go -i "$POLYGLOT_SPEC" \
  -o "$work/client" --package-name scalingodb \
  --git-host generated.invalid --git-user-id scalingo-db --git-repo-id dbapi \
  --additional-properties disallowAdditionalPropertiesIfNotPresent=false \
  --global-property apiTests=false,modelTests=false,apiDocs=false,modelDocs=false \
  >"$log" 2>&1; then
  cat "$log" >&2
  echo "go: the generator failed (log: $log)" >&2
  exit 1
fi
warnings="$(grep -c ' WARN ' "$log" || true)"

# 3. The flow, compiled with the pinned Go and nothing fetched: the client has no dependency, so
# no module proxy is needed (GOPROXY=off), and the build cache lives in $POLYGLOT_WORK.
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=readonly
export GOCACHE="$work/go-build" GOMODCACHE="$work/go-mod"
if [ "$(go env GOVERSION)" != "$go_version" ]; then
  echo "go: go.mod pins $go_version, but 'go' is $(go env GOVERSION)" >&2
  exit 1
fi
# go.mod points at target/polyglot/go/client; another POLYGLOT_WORK gets a copy of go.mod that
# points at its own client.
modfile=()
if [ "$(realpath -m "$here/../../../target/polyglot/go")" != "$(realpath -m "$work")" ]; then
  cp "$here/go.mod" "$work/flow.mod"
  cp "$here/go.sum" "$work/flow.sum"
  go mod edit -replace "generated.invalid/scalingo-db/dbapi=$work/client" "$work/flow.mod"
  modfile=(-modfile="$work/flow.mod")
fi
(cd "$here" && nice go vet "${modfile[@]}" . && nice go build "${modfile[@]}" -o "$work/flow" .)

echo "go: client by openapi-generator $generator_version ($warnings warnings, see $log), $go_version"
"$work/flow"
