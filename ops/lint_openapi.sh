#!/usr/bin/env bash
# Lints api/openapi.yaml with @redocly/cli at a pinned version (part of ops/test.sh).
#
# The package is installed once into a cache outside the project tree,
# ${LEDGER_NODE_CACHE:-/var/cache/ledger-node}/redocly-<version>, and reused from there.
# Node.js and npm come from the machine; when they are missing, Debian's `nodejs` and `npm`
# packages are installed (as root). @redocly/cli 2.x needs Node >= 20.19 (20.x) or >= 22.12;
# on an older Node (Debian bookworm's is 18) the 1.x line is used, pinned too.
#
# Fails (non-zero, with a message saying why) when node or npm cannot run, the install fails
# or the lint reports an error. Warnings are printed and do not fail.
#   ops/lint_openapi.sh [SPEC]        (default api/openapi.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly redocly_version=2.77.0   # needs Node >= 20.19 <21 or >= 22.12, npm >= 10
readonly redocly_node18=1.34.20   # the 1.x line, Node >= 18.17 (1.34.21 lacks a dependency)
spec=${1:-api/openapi.yaml}

die() {
  echo "lint_openapi: $*" >&2
  exit 1
}

[[ -f "$spec" ]] || die "no file $spec"

# Node and npm: Debian's packages for the commands missing (root only; otherwise say what to
# install).
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    die "node and npm are needed (Debian: apt-get install ${missing[*]}, as root)"
  fi
  echo "lint_openapi: installing Debian's ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    die "node or npm still missing after apt-get install ${missing[*]}"
  fi
fi
node_version=$(node --version 2>/dev/null) || die "node is installed but does not run"
npm --version >/dev/null 2>&1 || die "npm is installed but does not run"

# The version Node can run.
IFS=. read -r major minor _ <<<"${node_version#v}"
if ((major > 22 || (major == 22 && minor >= 12) || (major == 20 && minor >= 19))); then
  version=$redocly_version
elif ((major > 18 || (major == 18 && minor >= 17))); then
  version=$redocly_node18
  echo "lint_openapi: Node $node_version cannot run @redocly/cli $redocly_version" \
    "(Node >= 20.19 <21 or >= 22.12); using $version" >&2
else
  die "Node $node_version is too old for @redocly/cli (Node >= 18.17 needed, >= 20.19 for" \
    "$redocly_version)"
fi

# The cache: installed into a temporary directory first, so that an interrupted install is
# never taken for a finished one.
root=${LEDGER_NODE_CACHE:-/var/cache/ledger-node}
dir="$root/redocly-$version"
bin="$dir/node_modules/.bin/redocly"
if [[ ! -x "$bin" ]]; then
  mkdir -p "$root" 2>/dev/null || die "cannot create the cache $root (set LEDGER_NODE_CACHE)"
  tmp=$(mktemp -d "$root/.redocly-$version.XXXXXX") || die "cannot write in the cache $root"
  echo "lint_openapi: installing @redocly/cli@$version into $dir" >&2
  log="$tmp.log"
  if ! npm install --prefix "$tmp" --cache "$root/npm" --no-save --no-audit --no-fund \
    --loglevel=error "@redocly/cli@$version" >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf "$tmp" "$log"
    die "npm install @redocly/cli@$version failed (registry: $(npm config get registry))"
  fi
  rm -f "$log"
  [[ -x "$tmp/node_modules/.bin/redocly" ]] || { rm -rf "$tmp"; die "the install has no redocly"; }
  # Another run may have finished first: keep its copy.
  mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
fi
[[ -x "$bin" ]] || die "no $bin"

# No telemetry, no update notice: the lint talks to nobody.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
installed=$("$bin" --version 2>/dev/null) || die "$bin does not run with Node $node_version"
[[ "$installed" == "$version" ]] || die "$bin is $installed, not $version (remove $dir)"
echo "redocly $version (Node $node_version): lint $spec"
# The problems go to stdout; progress, notices and the summary to stderr, shown whole only when
# the lint fails (on success, its summary line alone).
err=$(mktemp)
if ! "$bin" lint --format=stylish "$spec" 2>"$err"; then
  cat "$err" >&2
  rm -f "$err"
  die "$spec has errors (above)"
fi
grep -E '^(Woohoo|You have)' "$err" || true
rm -f "$err"
