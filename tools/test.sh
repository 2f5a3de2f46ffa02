#!/usr/bin/env bash
# test.sh - the test command: installs what is missing, builds, and runs
# every test. On a fresh Debian 12 machine, as root:  bash tools/test.sh
#
#   1. release build: unit, dialogue and integration tests (both reactor
#      backends); the benchmarks are built, not run
#   2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer
#   3. the libFuzzer targets (clang), each for a bounded time
#   4. a real Postfix in front of listgate (tests/postfix/run.sh)
#
# Ends with one line "N passed, N failed" (test cases, fuzz targets and the
# Postfix checks) and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

tools/setup-debian.sh test || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

fuzz_seconds=${LISTGATE_FUZZ_SECONDS:-30}
results=$(mktemp -d /tmp/listgate-results-XXXXXX)
passed=0
failed=0
failures=()

note() { printf "\n==== [%s] %s\n" "$(date +%T)" "$*"; }
fail() { failed=$((failed + 1)); failures+=("$1"); }

# Adds the counts of every gtest XML report in $1.
count_gtest() {
  local dir=$1 label=$2 tests fails
  tests=$(cat "$dir"/*.xml 2>/dev/null | grep -o '<testsuites tests="[0-9]*" failures="[0-9]*"' |
            sed 's/[^0-9 ]//g' | awk '{t+=$1} END {print t+0}')
  fails=$(cat "$dir"/*.xml 2>/dev/null | grep -o '<testsuites tests="[0-9]*" failures="[0-9]*"' |
            sed 's/[^0-9 ]//g' | awk '{f+=$2} END {print f+0}')
  passed=$((passed + tests - fails))
  failed=$((failed + fails))
  echo "$label: $((tests - fails)) passed, $fails failed"
}

# Builds $1 with the meson options that follow, then runs its test suite.
build_and_test() {
  local dir=$1 label=$2; shift 2
  note "$label: build ($dir)"
  if [[ ! -f $dir/build.ninja ]]; then
    meson setup "$dir" "$@" >"$results/$label-setup.log" 2>&1 || {
      cat "$results/$label-setup.log"; fail "$label setup"; return 1; }
  fi
  ninja -C "$dir" >"$results/$label-build.log" 2>&1 || {
    tail -50 "$results/$label-build.log"; fail "$label build"; return 1; }
  note "$label: tests"
  mkdir -p "$results/$label"
  GTEST_OUTPUT="xml:$results/$label/" meson test -C "$dir" --print-errorlogs --num-processes 2 \
    >"$results/$label-test.log" 2>&1
  local rc=$?
  grep -E '^ *[0-9]+/[0-9]+ ' "$results/$label-test.log" || true
  if ((rc != 0)); then
    grep -B5 -A40 -E 'FAILED|runtime error|Sanitizer|TIMEOUT' "$results/$label-test.log" | head -200
  fi
  local before=$failed
  count_gtest "$results/$label" "$label"
  # A binary that crashed or timed out leaves no failing case in its report.
  if ((rc != 0 && failed == before)); then fail "$label: a test binary crashed or timed out"; fi
}

build_and_test build-release release --buildtype=release

build_and_test build-sanitize sanitize --buildtype=debugoptimized \
  -Db_sanitize=address,undefined -Db_lundef=false -Duse_mimalloc=false -Dbenchmarks=false \
  "-Dcpp_args=-fno-sanitize-recover=all -fno-omit-frame-pointer"

note "fuzz: build (clang, libFuzzer)"
if [[ ! -f build-fuzz/build.ninja ]]; then
  CXX=clang++ CC=clang meson setup build-fuzz --buildtype=debugoptimized -Dfuzz=true -Dtests=false \
    -Dbenchmarks=false -Duse_mimalloc=false -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args=-fsanitize=fuzzer-no-link >"$results/fuzz-setup.log" 2>&1 || cat "$results/fuzz-setup.log"
fi
if ninja -C build-fuzz >"$results/fuzz-build.log" 2>&1; then
  for target in build-fuzz/tests/fuzz/fuzz_*; do
    [[ -x $target && -f $target ]] || continue
    name=$(basename "$target")
    corpus=$(mktemp -d /tmp/listgate-corpus-XXXXXX)
    note "fuzz: $name for ${fuzz_seconds}s"
    if "$target" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
         "$corpus" "$root/tests/fuzz/seeds/${name#fuzz_}" >"$results/$name.log" 2>&1; then
      passed=$((passed + 1))
      grep -E 'stat::number_of_executed_units|Done' "$results/$name.log" | tail -2
    else
      tail -60 "$results/$name.log"
      fail "$name"
    fi
    rm -rf "$corpus"
  done
else
  tail -50 "$results/fuzz-build.log"
  fail "fuzz build"
fi

note "postfix: a real Postfix hands list mail to listgate"
if bash tests/postfix/run.sh "$root/build-release/src/app/listgate" "$root/build-release/bench/sink/listgate-sink" >"$results/postfix.log" 2>&1; then
  tail -5 "$results/postfix.log"
  line=$(grep -E '^postfix: [0-9]+ passed, [0-9]+ failed' "$results/postfix.log" | tail -1)
  passed=$((passed + $(echo "$line" | awk '{print $2}')))
else
  tail -80 "$results/postfix.log"
  line=$(grep -E '^postfix: [0-9]+ passed, [0-9]+ failed' "$results/postfix.log" | tail -1)
  if [[ -n $line ]]; then
    passed=$((passed + $(echo "$line" | awk '{print $2}')))
    failed=$((failed + $(echo "$line" | awk '{print $4}')))
    failures+=("postfix")
  else
    fail "postfix"
  fi
fi

note "summary"
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed"
((failed == 0))
