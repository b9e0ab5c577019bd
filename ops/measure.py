#!/usr/bin/env python3
"""Runs a command; prints its wall time and peak resident memory as one JSON line on stderr.

Usage: ops/measure.py LABEL COMMAND [ARG...]   (the command's stdout passes through)
"""
import json, resource, subprocess, sys, time

label, cmd = sys.argv[1], sys.argv[2:]
start = time.monotonic()
rc = subprocess.call(cmd)
wall = time.monotonic() - start
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"measure": label, "wall_s": round(wall, 3), "max_rss_mb": rss_kb // 1024,
                  "rc": rc}), file=sys.stderr)
sys.exit(rc)
