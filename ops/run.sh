#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds, loads a generated
# demo history (20,000 events, seed 1) into data/demo on first run, verifies the hash chain,
# and starts ledgerd on it (127.0.0.1:8080, Ctrl-C to stop) with a ready-to-paste curl, and the
# dashboard's URL (http://HOST:PORT/ui/) with the demo coordinator's token.
# LEDGER_DB=DIR uses another data dir, LEDGER_LISTEN=HOST:PORT another address.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/setup.sh
ctl=build/ledgerctl
db=${LEDGER_DB:-data/demo}
listen=${LEDGER_LISTEN:-127.0.0.1:8080}

if [[ ! -d "$db" ]]; then
  echo "== Loading a generated demo history into $db"
  mkdir -p "$(dirname "$db")"
  "$ctl" generate --seed 1 --events 20000 --out "$db.jsonl"
  "$ctl" append --db "$db" "$db.jsonl"
fi

echo "== Hash chain"
"$ctl" verify --db "$db"

# Demo tokens. The token file keeps only hashes; for the demo the operator's and the
# coordinator's tokens themselves are also kept (0600) beside it so that every run can print
# the curl and the dashboard sign-in below.
if [[ ! -f "$db.operator-token" ]]; then
  (umask 077 && "$ctl" tokens add --file "$db.tokens" --role operator --name demo-operator \
    >"$db.operator-token")
fi
if [[ ! -f "$db.coordinator-token" ]]; then
  (umask 077 && "$ctl" tokens add --file "$db.tokens" --role coordinator --network N-ADULT-01 \
    --name demo-coordinator >"$db.coordinator-token")
fi
token=$(cat "$db.operator-token")
coordinator_token=$(cat "$db.coordinator-token")
provider=$("$ctl" events --db "$db" |
  python3 -c 'import json,sys
found = [json.loads(l) for l in sys.stdin]
print(next(e["provider_id"] for e in found
           if e["type"] == "session.individual" and e["occurred_on"].startswith("2025-03")))')

cat <<TXT
== Starting ledgerd on http://$listen (data: $db; Ctrl-C stops it)
Dashboard: http://$listen/ui/
  sign in as the demo coordinator of N-ADULT-01 with: $coordinator_token
  (kept in $db.coordinator-token; the operator's token below sees every network)
Try, in another terminal:
  curl -s -H 'Authorization: Bearer $token' http://$listen/v1/providers/$provider/invoices/2025-03
  curl -s -H 'Authorization: Bearer $token' http://$listen/v1/networks/N-ADULT-01/balances/2025
  curl -s http://$listen/healthz
TXT
exec build/ledgerd --db "$db" --listen "$listen" --tokens "$db.tokens"
