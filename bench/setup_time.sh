#!/usr/bin/env bash
# Fresh clone → `make run` → /healthz "ok": seconds, installs included. Then Ctrl-C, and check
# that every process it started is gone. Writes bench/results/setup.json.
# Usage: bench/setup_time.sh   (uses PORT 8011 and Redis port 6391 so a running `make run` is untouched)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
git clone -q "$repo" "$work/kino"
cd "$work/kino"
start=$(date +%s.%N)
PORT=8011 KINO_REDIS_PORT=6391 setsid make run > "$work/run.log" 2>&1 &
make_pid=$!
status=""
while [ "$(echo "$(date +%s.%N) - $start > 900" | bc)" = 0 ]; do
  status=$(curl -sf localhost:8011/healthz | python3 -c 'import sys,json; print(json.load(sys.stdin)["status"])' 2>/dev/null || true)
  [ "$status" = ok ] && break
  sleep 1
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
# What Ctrl-C in a terminal does: SIGINT to the whole foreground process group (make and the launcher).
kill -INT -- "-$make_pid" || true
for _ in $(seq 30); do pgrep -f "$work/kino" > /dev/null || break; sleep 1; done
left=$( (pgrep -f "$work/kino" || true) | wc -l)
mkdir -p "$repo/bench/results"
python3 - "$elapsed" "$status" "$left" "$(nproc)" > "$repo/bench/results/setup.json" <<'PY'
import json, sys, datetime
elapsed, status, left, cores = sys.argv[1:]
print(json.dumps({
    "what": "fresh clone, no .venv or var/: `make run` until /healthz reports ok (installs included)",
    "seconds_to_healthy": round(float(elapsed), 1),
    "target_seconds": 300,
    "health_status": status,
    "processes_left_after_ctrl_c": int(left),
    "cores": int(cores),
    "date": datetime.date.today().isoformat(),
}, indent=2))
PY
cat "$repo/bench/results/setup.json"
rm -rf "$work"
