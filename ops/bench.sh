#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail), each beside RocksDB's own db_bench on this machine:
#  1. bulk append of 200k events end to end (JSON in, durable out) vs
#     db_bench fillseq --sync=1 --batch_size=1000, same count; and peak memory of a 1M append;
#  2. full rebuild of all projections over 1M events vs db_bench readseq, same count; and the
#     median cost of maintaining the projections per appended event (batches of 1 and 100).
# BENCH_10M=1 adds a rebuild over 10M events (peak memory). BENCH_DIR sets the work dir.
set -euo pipefail
cd "$(dirname "$0")/.."
LEDGER_EXTRA_PACKAGES="rocksdb-tools" ops/setup.sh
ctl=build/ledgerctl
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
measure=ops/measure.py

ops_per_s() { sed -n "s/^$1 *:.* \([0-9]*\) ops\/sec.*/\1/p"; }

echo "== 1. Bulk append, 200k events"
"$ctl" generate --seed 2 --events 200000 --out "$work/200k.jsonl"
rm -rf "$work/db200k"
start=$(date +%s.%N)
"$ctl" append --defer-projections --db "$work/db200k" "$work/200k.jsonl" >/dev/null
end=$(date +%s.%N)
events=$(wc -l <"$work/200k.jsonl")
ours=$(python3 -c "print(round($events/($end-$start)))")
rm -rf "$work/dbb"
ref=$(db_bench --benchmarks=fillseq --sync=1 --batch_size=1000 --num="$events" \
  --db="$work/dbb" 2>/dev/null | ops_per_s fillseq)
echo "append: $ours events/s; db_bench fillseq sync batch 1000: $ref ops/s;" \
  "ratio $(python3 -c "print(round($ours/$ref*100,1))")%"

echo "== 1b. Bulk append, 1M events: peak memory"
"$ctl" generate --seed 3 --events 1010000 --out "$work/1m.jsonl"
head -n 1000000 "$work/1m.jsonl" >"$work/1m-head.jsonl"
tail -n +1000001 "$work/1m.jsonl" >"$work/1m-tail.jsonl"
rm -rf "$work/db1m"
python3 "$measure" append-1m "$ctl" append --defer-projections --db "$work/db1m" \
  "$work/1m-head.jsonl" >/dev/null

echo "== 2. Projections over 1M events"
python3 "$measure" projections-1m build/bench_projections --db "$work/db1m" \
  --tail "$work/1m-tail.jsonl"
rm -rf "$work/dbr"
refread=$(db_bench --benchmarks=fillseq,readseq --num=1000000 --db="$work/dbr" 2>/dev/null |
  ops_per_s readseq)
echo "db_bench readseq (1M): $refread ops/s (compare with projections_rebuild events_per_s)"

if [[ "${BENCH_10M:-0}" == 1 ]]; then
  echo "== 3. Rebuild over 10M events: peak memory"
  "$ctl" generate --seed 4 --events 10000000 --out "$work/10m.jsonl"
  rm -rf "$work/db10m"
  "$ctl" append --defer-projections --db "$work/db10m" "$work/10m.jsonl" >/dev/null
  python3 "$measure" rebuild-10m "$ctl" projections rebuild --db "$work/db10m"
fi
[[ -n "${BENCH_DIR:-}" ]] || rm -rf "$work"
