#!/usr/bin/env bash
# CTest's dashboard_browser: finds headless Chromium (Debian's chromium, installed by
# `LEDGER_BROWSER=1 ops/setup.sh`, which ops/test.sh runs) and puppeteer-core (install_deps.sh,
# into a cache outside the tree), then runs dashboard_test.mjs against build/ledgerd.
#   dashboard_test.sh BUILD_DIR SOURCE_DIR
# Exit 0 passed, 1 failed, 77 skipped: when Chromium, node or puppeteer-core cannot be had, or
# ledgerd does not serve the page yet. A skip says why on stdout and in BUILD_DIR/browser/SKIPPED.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
out="$build/browser"
mkdir -p "$out"
rm -f "$out/SKIPPED"

skip() {
  echo "SKIPPED: $*" | tee "$out/SKIPPED"
  exit 77
}

chromium=${LEDGER_CHROMIUM:-/usr/bin/chromium}
[[ -x "$chromium" ]] || skip "no Chromium at $chromium (apt-get install chromium, or LEDGER_BROWSER=1 ops/setup.sh)"
command -v node >/dev/null || skip "node is not installed (apt-get install nodejs npm)"
deps=$("$src/tests/browser/install_deps.sh" 2>"$out/install.log") ||
  skip "puppeteer-core could not be installed: $(tr '\n' ' ' <"$out/install.log")"

set +e
node "$src/tests/browser/dashboard_test.mjs" \
  --ledgerctl "$build/ledgerctl" --ledgerd "$build/ledgerd" --ui "$src/api/ui" --out "$out" \
  --chromium "$chromium" --deps "$deps" --mock "$src/tests/browser/mock_server.mjs" | tee "$out/test.log"
rc=${PIPESTATUS[0]}
set -e
if ((rc == 77)); then
  grep '^SKIPPED' "$out/test.log" >"$out/SKIPPED"
fi
exit "$rc"
