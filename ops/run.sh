#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds, and on first run
# loads a generated demo history (20,000 events, seed 1) into data/demo; then verifies the
# hash chain and shows what the ledger holds. LEDGER_DB=DIR uses another data dir.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/setup.sh
ctl=build/ledgerctl
db=${LEDGER_DB:-data/demo}

if [[ ! -d "$db" ]]; then
  echo "== Loading a generated demo history into $db"
  mkdir -p "$(dirname "$db")"
  "$ctl" generate --seed 1 --events 20000 --out "$db.jsonl"
  "$ctl" append --db "$db" "$db.jsonl"
fi

echo "== Hash chain"
"$ctl" verify --db "$db"

provider=$("$ctl" events --db "$db" |
  python3 -c 'import json,sys
found = [json.loads(l) for l in sys.stdin]
print(next(e["provider_id"] for e in found
           if e["type"] == "session.individual" and e["occurred_on"].startswith("2025-03")))')
echo "== Invoice of $provider for 2025-03 (totals)"
"$ctl" invoice --db "$db" --provider "$provider" --month 2025-03 |
  python3 -c 'import json,sys; i=json.load(sys.stdin); i.pop("lines"); print(json.dumps(i))'
echo "== Budget of N-ADULT-01 in 2025"
"$ctl" balance --db "$db" --network N-ADULT-01 --year 2025
echo "== Network figures of N-ADULT-01 on 2026-06-30"
"$ctl" figures --db "$db" --network N-ADULT-01 --on 2026-06-30
echo
echo "Try: $ctl --help    (the data dir is $db)"
