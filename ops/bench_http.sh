#!/usr/bin/env bash
# HTTP benchmarks of ledgerd (figures, not pass/fail), each beside a reference run on this
# machine, on 127.0.0.1 only, each load bounded in time (BENCH_SECONDS, default 10):
#  1. durable appends: wrk over 64 connections, one new single-event POST per request (ids
#     unique: run + thread + counter), answered only once synced; beside RocksDB's db_bench
#     fillrandom --sync=1 --num=2000 (one fsync per write), ratio target >= 20x; and beside
#     PostgreSQL 15's pgbench, 64 clients, one INSERT of one event a transaction, fsync on
#     (ops/pg_peer.sh: a server of its own, stopped and removed on exit), target >= 2x.
#  2. invoice reads: wrk over 32 connections, GET one provider-month invoice of a generated
#     history; beside nginx (unprivileged: its own prefix and a loopback port) serving a static
#     file of the same size. Req/s and p99 for both; targets >= 50% of nginx, p99 <= 5 ms.
#  3. the network's month (GET /v1/networks/{id}/invoices/{month}) of the largest network of the
#     demo (ops/run.sh's history: generate --seed 1 --events 20000), the month with the most
#     lines, 32 connections, as a coordinator of that network; beside nginx serving the same
#     bytes. Target: >= 5,000 req/s with p99 <= 10 ms. Also rendered afresh each time.
# Environment: LEDGER_BIN (default build; the binaries ledgerd and ledgerctl), BENCH_DIR (work
# directory, kept when given), BENCH_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
LEDGER_EXTRA_PACKAGES="wrk nginx rocksdb-tools postgresql" ops/setup.sh --deps
bin=${LEDGER_BIN:-build}
[[ -x "$bin/ledgerd" && -x "$bin/ledgerctl" ]] || ops/setup.sh
seconds=${BENCH_SECONDS:-10}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)

source ops/pg_peer.sh
pids=()
cleanup() {
  pg_stop
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  [[ -n "${BENCH_DIR:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT

# Waits for a port file (or a listening port) to appear.
wait_port_file() {
  for _ in $(seq 200); do
    [[ -s "$1" ]] && return 0
    sleep 0.05
  done
  echo "bench_http: no port in $1" >&2
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wrk's summary as one line: requests, req/s, p99 in ms, non-2xx answers, socket errors.
cat >"$work/summary.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.0f p99_ms=%.3f p50_ms=%.3f non2xx=%d errors=%d\n",
    summary.requests, summary.requests / summary.duration * 1e6,
    latency:percentile(99) / 1000, latency:percentile(50) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
EOF
# One new event per request: ids from the run, the wrk thread and a counter.
cat >"$work/append.lua" <<'EOF'
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  token, run = args[1], args[2]
  counter = 0
end
function request()
  counter = counter + 1
  local body = string.format('{"id":"bench-%s-%d-%d","type":"support.mission",' ..
    '"occurred_on":"2024-06-05","provider_id":"P-BENCH","network_id":"N-BENCH",' ..
    '"minutes":90,"kind":"co_consultation"}\n', run, tid, counter)
  return wrk.format("POST", "/v1/events",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/x-ndjson"}, body)
end
EOF
cat "$work/summary.lua" >>"$work/append.lua"
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }

# A ledger with a generated history, and ledgerd on it.
echo "== set-up: a generated history, ledgerd on 127.0.0.1"
"$bin/ledgerctl" generate --seed 11 --events 50000 --out "$work/history.jsonl" 2>/dev/null
"$bin/ledgerctl" append --db "$work/db" "$work/history.jsonl" >/dev/null
token=$("$bin/ledgerctl" tokens add --file "$work/tokens" --role operator --name bench |
  grep -o 'lt_[0-9a-f]*' | head -n1)
threads=$(nproc)
"$bin/ledgerd" --db "$work/db" --listen 127.0.0.1:0 --port-file "$work/port" \
  --tokens "$work/tokens" --threads "$threads" --quiet 2>"$work/ledgerd.log" &
pids+=($!)
wait_port_file "$work/port"
port=$(cat "$work/port")
base=http://127.0.0.1:$port
echo "ledgerd on port $port, $threads I/O threads, $(curl -s "$base/healthz")"

echo "== 1. Durable single-event appends, 64 connections, ${seconds}s"
before=$(curl -s "$base/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_seq"])')
out=$(wrk -t2 -c64 -d"${seconds}s" --timeout 10s -s "$work/append.lua" "$base/v1/events" \
  -- "$token" "$$" | grep RESULT)
after=$(curl -s "$base/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_seq"])')
appends=$(echo "$out" | field rps)
echo "ledgerd appends: $appends req/s (1 event each, durable), p50 $(echo "$out" | field p50_ms) ms," \
  "p99 $(echo "$out" | field p99_ms) ms, non-2xx $(echo "$out" | field non2xx)," \
  "errors $(echo "$out" | field errors); events stored: $((after - before))" \
  "(wrk counted $(echo "$out" | field requests) answers)"
curl -s "$base/metrics" | python3 -c '
import sys
m = dict(l.rsplit(" ", 1) for l in sys.stdin if l[0] != "#")
groups, events = float(m["ledgerd_append_group_events_count"]), float(m["ledgerd_append_group_events_sum"])
fsync = float(m["ledgerd_fsync_seconds_sum"]) / float(m["ledgerd_fsync_seconds_count"])
print(f"group commit: {groups:.0f} synced groups, {events/groups:.1f} events per group on average,"
      f" {fsync*1000:.2f} ms per synced write")'
# The reference: one fsync per write. This disk's fsync time varies from run to run (more so
# on virtual machines): the median of three runs.
refs=()
for _ in 1 2 3; do
  rm -rf "$work/dbb"
  refs+=("$(db_bench --benchmarks=fillrandom --sync=1 --num=2000 --db="$work/dbb" 2>/dev/null |
    sed -n 's/^fillrandom *:.* \([0-9]*\) ops\/sec.*/\1/p')")
done
ref=$(printf '%s\n' "${refs[@]}" | sort -n | sed -n 2p)
echo "db_bench fillrandom --sync=1 --num=2000: $ref ops/s (median of ${refs[*]}; one fsync per write)"
python3 -c "r=$appends/$ref; print(f'ratio: {r:.1f}x (target >= 20x)', 'ok' if r >= 20 else 'BELOW TARGET')"
pg_start
pgbench=$(pgbench_insert_rate 64 "$seconds")
pg_stop
python3 -c "r=$appends/$pgbench
print(f'pgbench, 64 clients, one INSERT a transaction: {$pgbench:.0f} tps; ledger/pgbench {r:.2f}x'
      ' (target >= 2x)', 'ok' if r >= 2 else 'BELOW TARGET')"

echo "== 2. Invoice reads, 32 connections, ${seconds}s"
# The provider-month with the most lines in the history.
read -r provider month < <(python3 ops/busiest.py provider "$work/history.jsonl")
target="/v1/providers/$provider/invoices/$month"
curl -s -H "Authorization: Bearer $token" "$base$target" >"$work/invoice.json"
size=$(stat -c %s "$work/invoice.json")
lines=$(python3 -c "import json; print(len(json.load(open('$work/invoice.json'))['lines']))")
echo "invoice $provider $month: $lines lines, $size bytes"
out=$(wrk -t2 -c32 -d"${seconds}s" --timeout 10s -s "$work/summary.lua" \
  -H "Authorization: Bearer $token" "$base$target" | grep RESULT)
ours_rps=$(echo "$out" | field rps)
ours_p99=$(echo "$out" | field p99_ms)
echo "ledgerd invoice: $ours_rps req/s, p50 $(echo "$out" | field p50_ms) ms, p99 $ours_p99 ms," \
  "non-2xx $(echo "$out" | field non2xx), errors $(echo "$out" | field errors)" \
  "(the projections stay at one seq: answered from the answer cache)"
# For comparison, every answer rendered afresh from the projections: ledgerd restarted on the
# same data with --answer-cache 0.
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
"$bin/ledgerd" --db "$work/db" --listen 127.0.0.1:0 --port-file "$work/port-nocache" \
  --tokens "$work/tokens" --threads "$threads" --quiet --answer-cache 0 2>>"$work/ledgerd.log" &
pids+=($!)
wait_port_file "$work/port-nocache"
out=$(wrk -t2 -c32 -d"${seconds}s" --timeout 10s -s "$work/summary.lua" \
  -H "Authorization: Bearer $token" "http://127.0.0.1:$(cat "$work/port-nocache")$target" |
  grep RESULT)
echo "ledgerd invoice, rendered afresh each time (--answer-cache 0): $(echo "$out" | field rps)" \
  "req/s, p50 $(echo "$out" | field p50_ms) ms, p99 $(echo "$out" | field p99_ms) ms"

# nginx: its own prefix, a loopback port, no privileges needed (as root its workers run as
# nobody, hence the readable directory).
mkdir -p "$work/nginx/www" "$work/nginx/tmp"
chmod 0755 "$work" "$work/nginx" "$work/nginx/www"
cp "$work/invoice.json" "$work/nginx/www/invoice.json"
chmod 0644 "$work/nginx/www/invoice.json"
nginx_port=$(free_port)
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes $threads;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/nginx/www;
    location / { default_type application/json; }
  }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>>"$work/nginx/error.log" &
pids+=($!)
for _ in $(seq 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/invoice.json" && break
  sleep 0.05
done
out=$(wrk -t2 -c32 -d"${seconds}s" --timeout 10s -s "$work/summary.lua" \
  -H "Authorization: Bearer $token" "http://127.0.0.1:$nginx_port/invoice.json" | grep RESULT)
nginx_rps=$(echo "$out" | field rps)
nginx_p99=$(echo "$out" | field p99_ms)
echo "nginx static file ($size bytes): $nginx_rps req/s, p50 $(echo "$out" | field p50_ms) ms," \
  "p99 $nginx_p99 ms, non-2xx $(echo "$out" | field non2xx)"
python3 -c "r=$ours_rps/$nginx_rps*100; p=$ours_p99
print(f'ratio: {r:.0f}% of nginx (target >= 50%),', 'ok' if r >= 50 else 'BELOW TARGET', end='; ')
print(f'ledgerd p99 {p} ms (target <= 5 ms),', 'ok' if p <= 5 else 'ABOVE TARGET')"
# What the append target asks of this machine, beside what its fastest HTTP server does.
python3 -c "print(f'append target on this machine: 20 x $ref = {20*$ref:.0f} req/s of durable'
  f' single-event POSTs; nginx serves {$nginx_rps:.0f} req/s of a static file here')"

echo "== 3. The network's month of the demo's largest network, 32 connections, ${seconds}s"
"$bin/ledgerctl" generate --seed 1 --events 20000 --out "$work/demo.jsonl" 2>/dev/null
"$bin/ledgerctl" append --db "$work/demo" "$work/demo.jsonl" >/dev/null
# The network-month with the most care events.
read -r network nmonth < <(python3 ops/busiest.py network "$work/demo.jsonl")
coordinator=$("$bin/ledgerctl" tokens add --file "$work/demo-tokens" --role coordinator \
  --network "$network" --name bench | grep -o 'lt_[0-9a-f]*' | head -n1)
ntarget="/v1/networks/$network/invoices/$nmonth"
month_run() {  # $1: label, $2...: extra ledgerd flags
  local label=$1 portfile="$work/port-demo-$RANDOM"
  shift
  "$bin/ledgerd" --db "$work/demo" --listen 127.0.0.1:0 --port-file "$portfile" \
    --tokens "$work/demo-tokens" --threads "$threads" --quiet "$@" 2>>"$work/ledgerd.log" &
  local pid=$!
  pids+=("$pid")
  wait_port_file "$portfile"
  local url="http://127.0.0.1:$(cat "$portfile")$ntarget"
  curl -s -H "Authorization: Bearer $coordinator" "$url" >"$work/network-month.json"
  out=$(wrk -t2 -c32 -d"${seconds}s" --timeout 10s -s "$work/summary.lua" \
    -H "Authorization: Bearer $coordinator" "$url" | grep RESULT)
  echo "ledgerd network month, $label: $(echo "$out" | field rps) req/s," \
    "p50 $(echo "$out" | field p50_ms) ms, p99 $(echo "$out" | field p99_ms) ms," \
    "non-2xx $(echo "$out" | field non2xx), errors $(echo "$out" | field errors)"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}
month_run "answer cache (the projections stay at one seq)"
month_rps=$(echo "$out" | field rps)
month_p99=$(echo "$out" | field p99_ms)
month_run "rendered afresh each time (--answer-cache 0)" --answer-cache 0
nsize=$(stat -c %s "$work/network-month.json")
nproviders=$(python3 -c "import json; print(len(json.load(open('$work/network-month.json'))['providers']))")
echo "network month $network $nmonth: $nproviders providers, $nsize bytes"
cp "$work/network-month.json" "$work/nginx/www/network-month.json"
chmod 0644 "$work/nginx/www/network-month.json"
out=$(wrk -t2 -c32 -d"${seconds}s" --timeout 10s -s "$work/summary.lua" \
  -H "Authorization: Bearer $coordinator" "http://127.0.0.1:$nginx_port/network-month.json" |
  grep RESULT)
nginx_month_rps=$(echo "$out" | field rps)
echo "nginx static file ($nsize bytes): $nginx_month_rps req/s, p50 $(echo "$out" | field p50_ms) ms," \
  "p99 $(echo "$out" | field p99_ms) ms"
python3 -c "r=$month_rps; p=$month_p99; n=$nginx_month_rps
print(f'network month: {r:.0f} req/s = {r/n*100:.0f}% of nginx; target >= 5000 req/s,',
      'ok' if r >= 5000 else 'BELOW TARGET', end='; ')
print(f'p99 {p} ms (target <= 10 ms),', 'ok' if p <= 10 else 'ABOVE TARGET')"
