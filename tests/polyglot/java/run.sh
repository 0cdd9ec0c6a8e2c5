#!/usr/bin/env bash
# The Java client of openapi.yaml and its flow, as tests/polyglot/run.sh calls it (with SANDBOX_*,
# POLYGLOT_WORK and POLYGLOT_SPEC set): generates the client (openapi-generator, okhttp-gson) into
# $POLYGLOT_WORK/generated, compiles it with src/main/java/polyglot/Main.java, and runs the flow.
# Everything Maven downloads or builds stays under $POLYGLOT_WORK: m2/ (its local repository),
# generated/, build/. Once a build has passed with this pom.xml, Maven runs offline (-o), so the
# next run downloads nothing. Logs: build.log (Maven), generator-warnings.log.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${POLYGLOT_WORK:?POLYGLOT_WORK is not set}"
spec="${POLYGLOT_SPEC:?POLYGLOT_SPEC is not set}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

# The pom pins everything but the JDK and Maven themselves: say so when they are not the ones
# this was written for (Java 17; Maven 3.8 or later).
if ! java -version 2>&1 | grep -q 'version "17\.'; then
  echo "java: Java 17 is needed, found: $(java -version 2>&1 | head -n 1)" >&2
  exit 1
fi

# Offline once a build with this very pom.xml has passed (its hash is the marker's content).
pom_hash="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
marker="$work/m2/.complete"
offline=()
if [[ -f "$marker" && "$(cat "$marker")" == "$pom_hash" ]]; then
  offline=(-o)
fi

# A fresh generation each time: files of schemas that left the contract must not linger.
rm -rf "$work/generated"

# The contract as it is. (PasswordConfirmation was once `allOf: [NewPassword]`, which okhttp-gson
# turns into an `Object` property whose model does not compile: openapi-generator issue 14041. It
# is a plain string now.)
generated_spec="$spec"

# Maven and the flow are short-lived JVMs: the quick JIT tier alone and the serial collector
# start faster and leave the second core to the other builders (about half of Maven's time here).
jvm_opts=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
export MAVEN_OPTS="${MAVEN_OPTS:-${jvm_opts[*]}}"

log="$work/build.log"
if ! nice mvn -B "${offline[@]}" -Dstyle.color=never -f "$here/pom.xml" \
    -Dmaven.repo.local="$work/m2" -Dpolyglot.work="$work" -Dpolyglot.spec="$generated_spec" \
    compile >"$log" 2>&1; then
  echo "java: the build failed (generation or compilation); the end of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
echo "$pom_hash" >"$marker"

# The generator's warnings: the [WARNING] lines of its plugin's section of the log.
warnings="$work/generator-warnings.log"
awk '/^\[INFO\] --- /{inside = /openapi-generator-maven-plugin/} inside && /^\[WARNING\]/' \
  "$log" >"$warnings"
downloads="$(grep -c 'Downloaded from' "$log" || true)"

nice java "${jvm_opts[@]}" -cp "$work/build/classes:$(cat "$work/build/classpath.txt")" polyglot.Main
echo "java: generator warnings: $(wc -l <"$warnings") (see $warnings); Maven downloads: $downloads"
