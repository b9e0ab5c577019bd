# PostgreSQL as the benches' peer (sourced by ops/bench.sh and ops/bench_http.sh): Debian's
# postgresql 15, started on a temporary directory and a Unix socket only (no TCP), fsync and
# synchronous commit on (the defaults, set explicitly), stopped and removed by pg_stop, which
# the caller runs from its EXIT trap. Run as root, the server runs as the `postgres` user.
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
pg_dir=""
pg_port=""

pg_as() {  # runs a command as the server's user
  if [[ $EUID == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  [[ -x "$pg_bin/initdb" ]] || {
    echo "pg_peer: no PostgreSQL in $pg_bin (apt-get install postgresql)" >&2
    return 1
  }
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/ledger-bench-pg.XXXXXX")
  [[ $EUID == 0 ]] && chown postgres: "$pg_dir"
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  pg_as "$pg_bin/initdb" -D "$pg_dir/data" -U bench --auth=trust -E UTF8 >/dev/null
  pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w start -o \
    "-p $pg_port -c listen_addresses='' -c unix_socket_directories='$pg_dir' -c fsync=on \
     -c synchronous_commit=on -c full_page_writes=on -c max_connections=100" >/dev/null
}

pg_stop() {
  [[ -n "$pg_dir" ]] || return 0
  pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
  pg_dir=""
}

pg_sql() {  # psql on the bench database, quiet, stopping at the first error
  pg_as "$pg_bin/psql" -h "$pg_dir" -p "$pg_port" -U bench -d postgres -X -q -v ON_ERROR_STOP=1 "$@"
}

# One row per event: its id (unique, as the ledger's id index), type, care date, and the event
# as jsonb (parsed and validated by the server), with a generated sequence number.
pg_events_table() {
  pg_sql -c "SET client_min_messages = warning; DROP TABLE IF EXISTS events;
    CREATE TABLE events (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id text NOT NULL UNIQUE, type text NOT NULL, occurred_on date, body jsonb NOT NULL);"
}

# COPY of a JSON Lines file, 1000 rows a transaction (each COPY commits on its own). The text
# is converted to COPY's format before the clock starts; prints rows/s.
pg_copy_rate() {
  local file=$1 parts="$pg_dir/copy"
  mkdir -p "$parts"
  python3 - "$file" "$parts" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
def esc(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
part, f = 0, None
for n, line in enumerate(open(src)):
    if n % 1000 == 0:
        if f: f.close()
        f = open(f"{out}/{part:06d}.tsv", "w")
        part += 1
    e = json.loads(line)
    f.write("\t".join([esc(e["id"]), esc(e["type"]), e.get("occurred_on") or "\\N",
                       esc(line.rstrip("\n"))]) + "\n")
if f: f.close()
PY
  [[ $EUID == 0 ]] && chown -R postgres: "$parts"
  pg_events_table
  local script="$pg_dir/copy.sql"
  for part in "$parts"/*.tsv; do
    echo "COPY events (id, type, occurred_on, body) FROM '$part';"
  done >"$script"
  local start end rows
  start=$(date +%s.%N)
  pg_sql -f "$script"
  end=$(date +%s.%N)
  rows=$(pg_sql -At -c "SELECT count(*) FROM events")
  python3 -c "print(round($rows/($end-$start)))"
}

# pgbench: `clients` connections, one INSERT of one event a transaction (committed, synced),
# for `seconds`; prints transactions/s.
pgbench_insert_rate() {
  local clients=$1 seconds=$2
  pg_events_table
  cat >"$pg_dir/insert.sql" <<'SQL'
INSERT INTO events (id, type, occurred_on, body) VALUES ('bench-' || gen_random_uuid(),
  'support.mission', '2024-06-05', '{"type":"support.mission","occurred_on":"2024-06-05","provider_id":"P-BENCH","network_id":"N-BENCH","minutes":90,"kind":"co_consultation"}');
SQL
  [[ $EUID == 0 ]] && chown postgres: "$pg_dir/insert.sql"
  pg_as "$pg_bin/pgbench" -h "$pg_dir" -p "$pg_port" -U bench -n -c "$clients" -j 2 \
    -T "$seconds" -f "$pg_dir/insert.sql" postgres 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1 | python3 -c 'import sys; print(round(float(sys.stdin.read())))'
}
