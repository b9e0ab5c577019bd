#!/usr/bin/env python3
"""Prints the busiest provider-month (individual sessions) or network-month (care events) of a
JSON Lines history, for the benchmarks to query: `ops/busiest.py provider|network HISTORY`."""
import collections, json, sys

CARE = ("session.individual", "session.group", "community.intervention", "support.mission",
        "concertation.held")
by, path = sys.argv[1], sys.argv[2]
n = collections.Counter()
for line in open(path):
    e = json.loads(line)
    if by == "provider" and e["type"] == "session.individual":
        n[(e["provider_id"], e["occurred_on"][:7])] += 1
    elif by == "network" and e["type"] in CARE:
        n[(e["network_id"], e["occurred_on"][:7])] += 1
(key, month), _ = n.most_common(1)[0]
print(key, month)
