#!/usr/bin/env bash
# Installs the Debian packages the ledger needs (only those missing; quiet when all are there)
# and builds Release into build/. Idempotent. Run as root on Debian bookworm.
#   ops/setup.sh            packages + Release build
#   ops/setup.sh --deps     packages only
#   LEDGER_BROWSER=1 ...    also what the dashboard's browser test needs (ops/test.sh sets it):
#                           Debian's chromium, node and npm when missing, and puppeteer-core
#                           from npm into LEDGER_NODE_CACHE (default /var/cache/ledger-node)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build g++ python3
  librocksdb-dev capnproto libcapnp-dev
  libboost1.81-dev libboost-json1.81-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev
  clang-14 libclang-rt-14-dev
)
# Extra packages a caller may need (benchmarks): LEDGER_EXTRA_PACKAGES="rocksdb-tools wrk".
read -r -a extra <<<"${LEDGER_EXTRA_PACKAGES:-}"
packages+=("${extra[@]}")
if [[ "${LEDGER_BROWSER:-0}" == 1 ]]; then
  packages+=(chromium)
  # node and npm from Debian unless some node 18+ is already on PATH.
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# puppeteer-core for the browser test (a failure here only makes that test skip, loudly).
if [[ "${LEDGER_BROWSER:-0}" == 1 ]]; then
  tests/browser/install_deps.sh >/dev/null || echo "setup: the browser test will skip" >&2
fi

[[ "${1:-}" == "--deps" ]] && exit 0

# A build directory configured for another checkout (this one was moved or copied, build/
# included) would make CMake stop: "the current CMakeCache.txt directory ... is different".
# Its cache is dropped and the directory configured afresh (build/ here; build-asan/ and
# build-fuzz/ by ops/test.sh after this), its objects rebuilt as needed.
fresh_build_dir() {
  local dir=$1 cache=$1/CMakeCache.txt configured
  [[ -f "$cache" ]] || return 0
  configured=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
  if [[ "$(realpath -m "$configured")" != "$(realpath .)" ]]; then
    echo "setup: $dir was configured for $configured; configuring it again for $(realpath .)" >&2
    rm -rf "$cache" "$dir/CMakeFiles"
  fi
}
for dir in build build-asan build-fuzz; do fresh_build_dir "$dir"; done

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLEDGER_TESTS=ON -DLEDGER_FUZZ=OFF -Wno-dev >/dev/null
log=$(mktemp)
ninja -C build -j"${LEDGER_JOBS:-2}" >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
rm -f "$log"
test -x build/ledgerctl
