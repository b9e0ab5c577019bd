#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, then
#  0. lints api/openapi.yaml with @redocly/cli (ops/lint_openapi.sh),
#  1. builds Release and runs the whole suite under CTest,
#  2. builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite again,
#  3. builds the libFuzzer targets with clang and gives each a short smoke run,
#  4. runs the shared billing cases through build/ledgerctl as users would.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${LEDGER_JOBS:-2}
fuzz_seconds=${LEDGER_FUZZ_SECONDS:-20}

# LEDGER_BROWSER=1: also Chromium and puppeteer-core for the dashboard's browser test.
LEDGER_BROWSER=${LEDGER_BROWSER:-1} ops/setup.sh

echo "== OpenAPI lint"
ops/lint_openapi.sh

# Builds a configured tree; prints the build log only when it fails.
build() {
  local log
  log=$(mktemp)
  ninja -C "$1" -j"$jobs" >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
  rm -f "$log"
}

echo "== Release suite"
ctest --test-dir build --output-on-failure --no-tests=error -j"$jobs" --timeout 600 |
  tee /tmp/ledger-ctest-release.log | grep -E 'tests passed|\*\*\*|FAILED' || true
grep -q '100% tests passed' /tmp/ledger-ctest-release.log || { tail -n 100 /tmp/ledger-ctest-release.log; exit 1; }
# A skipped test is named with its reason (the browser test writes it to build/browser/SKIPPED).
skipped=$(grep -c '(Skipped)' /tmp/ledger-ctest-release.log || true)
if ((skipped)); then
  grep '(Skipped)' /tmp/ledger-ctest-release.log
  if [[ -f build/browser/SKIPPED ]]; then sed 's/^/  dashboard_browser: /' build/browser/SKIPPED; fi
fi

echo "== ASan + UBSan suite"
# -O1 (the level the sanitizers recommend) with line tables only (-g1: stack traces keep files
# and lines) and without NDEBUG, so that the code's asserts (the conservation of every line's
# amounts, among others) are checked too; about half the compile time of -O2 -g.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEDGER_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -Wno-dev >/dev/null
build build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --no-tests=error -j"$jobs" --timeout 900 |
  tee /tmp/ledger-ctest-asan.log | grep -E 'tests passed|\*\*\*|FAILED' || true
grep -q '100% tests passed' /tmp/ledger-ctest-asan.log || { tail -n 100 /tmp/ledger-ctest-asan.log; exit 1; }

echo "== Fuzz smoke (${fuzz_seconds}s per target)"
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLEDGER_FUZZ=ON -DLEDGER_TESTS=OFF -Wno-dev >/dev/null
# Only the fuzz targets (and what they link): the tree is built with GCC above.
log=$(mktemp)
ninja -C build-fuzz -j"$jobs" json_decoder_fuzz >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
rm -f "$log"
for target in build-fuzz/tests/*_fuzz; do
  [[ -x "$target" ]] || continue
  name=$(basename "$target" _fuzz)
  corpus=$(mktemp -d)
  cp tests/fuzz/corpus/* "$corpus"/ 2>/dev/null || true
  mkdir -p build-fuzz/artifacts
  "$target" -max_total_time="$fuzz_seconds" -print_final_stats=0 \
    -artifact_prefix=build-fuzz/artifacts/ "$corpus" 2>/tmp/fuzz-"$name".log ||
    { tail -n 40 /tmp/fuzz-"$name".log; echo "fuzz target $name failed (input in build-fuzz/artifacts/)"; exit 1; }
  echo "fuzz $name: $(grep -c . /tmp/fuzz-"$name".log) log lines, no crash"
  rm -rf "$corpus"
done

echo "== Shared billing cases"
python3 ../shared/tools/check_cases.py build/ledgerctl ../shared/domain/cases |
  tee /tmp/ledger-cases.log
cases=$(sed -n 's/^\([0-9]*\)\/[0-9]* cases hold$/\1/p' /tmp/ledger-cases.log)

# One closing line for the whole run (every step above stops the script on a failure).
release=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' /tmp/ledger-ctest-release.log)
asan=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' /tmp/ledger-ctest-asan.log)
echo "ledger: $((release + asan + cases - skipped)) passed, 0 failed, $skipped skipped"
