#!/usr/bin/env bash
# Runs every fuzz target of the given packages for FUZZTIME each (default 60s),
# JOBS at a time (default 2), and prints one line per target with its exec
# count. Exits non-zero if any target found a failure (the failing input is
# kept under the package's testdata/fuzz/ as a regression seed).
#
#   scripts/fuzz-all.sh ./internal/protocol ./internal/record
set -uo pipefail
cd "$(dirname "$0")/.."
# Stopping the script stops every fuzzer it started.
trap 'trap - TERM; kill -- -$$ 2>/dev/null' INT TERM EXIT
fuzztime=${FUZZTIME:-60s}
jobs=${JOBS:-2}
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./internal/...)
out=${FUZZ_LOG_DIR:-$(mktemp -d -t sluice-fuzz.XXXXXX)}
mkdir -p "$out"
list=()
for pkg in $(go list "${pkgs[@]}"); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for t in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u); do
    list+=("$pkg $t")
  done
done
echo "fuzzing ${#list[@]} targets for $fuzztime each, $jobs at a time"
run() {
  local pkg=$1 t=$2
  local log="$out/${t}.log"
  go test "$pkg" -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" -fuzzminimizetime 10s -parallel 1 >"$log" 2>&1
  local rc=$?
  local execs
  execs=$(grep -ao 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  if [ $rc -eq 0 ]; then echo "ok   $t execs=${execs:-?}"; else echo "FAIL $t (log: $log)"; tail -20 "$log"; fi
  return $rc
}
export -f run
export out fuzztime
printf '%s\n' "${list[@]}" | xargs -P "$jobs" -L 1 bash -c 'run $0 $1'
