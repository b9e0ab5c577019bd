#!/usr/bin/env bash
# Installs the Debian packages the ledger needs (only those missing; quiet when all are there)
# and builds Release into build/. Idempotent. Run as root on Debian bookworm.
#   ops/setup.sh            packages + Release build
#   ops/setup.sh --deps     packages only
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

[[ "${1:-}" == "--deps" ]] && exit 0

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLEDGER_TESTS=ON -DLEDGER_FUZZ=OFF -Wno-dev >/dev/null
log=$(mktemp)
ninja -C build -j"${LEDGER_JOBS:-2}" >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
rm -f "$log"
test -x build/ledgerctl
