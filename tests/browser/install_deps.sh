#!/usr/bin/env bash
# Installs what the browser test needs from npm (puppeteer-core, pinned with its whole tree by
# package-lock.json) into a cache OUTSIDE the source tree, and prints the directory that holds
# its node_modules. Idempotent: a directory named after the lock file's hash is reused.
#   LEDGER_NODE_CACHE   the cache (default /var/cache/ledger-node): npm's cache and installs
# Exit 0 with the directory on stdout; exit 1 with the reason on stderr when npm is missing or
# the install fails (the test then skips, loudly).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${LEDGER_NODE_CACHE:-/var/cache/ledger-node}

command -v node >/dev/null || { echo "node is not installed (apt-get install nodejs)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
((major >= 18)) || { echo "node $(node --version) is too old: puppeteer-core needs 18 or later" >&2; exit 1; }

lock_hash=$(sha256sum "$here/package-lock.json" | cut -c1-16)
dir="$cache/browser-test-$lock_hash"
if [[ -f "$dir/node_modules/puppeteer-core/package.json" && -f "$dir/.complete" ]]; then
  echo "$dir"
  exit 0
fi

command -v npm >/dev/null || { echo "npm is not installed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$dir" "$cache/npm"
cp "$here/package.json" "$here/package-lock.json" "$dir/"
log=$(mktemp)
# --ignore-scripts: nothing runs at install time (puppeteer-core downloads no browser anyway).
if ! (cd "$dir" && npm ci --cache "$cache/npm" --no-audit --no-fund --ignore-scripts \
        --loglevel=error >"$log" 2>&1); then
  echo "npm ci of puppeteer-core into $dir failed:" >&2
  tail -n 20 "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
touch "$dir/.complete"
echo "$dir"
