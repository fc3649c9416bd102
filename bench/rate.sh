#!/usr/bin/env bash
# The account's full rate by default: 30,000 recipients sent with --rate 1000
# and every other setting at its default, through the simulator answering in
# 300 ms and then in 1,000 ms. The in-flight limit follows rate × latency, so
# the runner should reach about 1,000/s in both, without ever passing 1,000
# in any one-second window. Prints per latency: the achieved rate (messages
# between the first and the last to reach the simulator), the busiest
# one-second window, and the in-flight limit the runner settled on.
# Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/rate.sh [LATENCY_MS ...]
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
N="${BENCH_N:-30000}"
RATE=1000
LATENCIES=("${@:-300 1000}")
[ $# -gt 0 ] || LATENCIES=(300 1000)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/wutt-campaign"

DB="wutt_bench_rate_$$"
URL="$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$ADMIN_URL" "$DB")"
WORK="$(mktemp -d)"
SIM_PID=""
cleanup() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export WUTT_CLIENT_ID=bench-id WUTT_CLIENT_SECRET=bench-secret WUTT_CAMPAIGNS_DIR="$WORK/campaigns"
unset WUTT_CONCURRENCY WUTT_BURST WUTT_BATCH_SIZE

for latency in "${LATENCIES[@]}"; do
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
  DATABASE_URL="$URL" "$BIN" migrate >/dev/null
  psql -qAt "$URL" >/dev/null <<SQL
INSERT INTO campaigns (name, source_sha256, source_file, message_template)
VALUES ('rate', sha256('rate'::bytea), 'rate.csv', 'Hello');
INSERT INTO recipients (campaign_id, row_number, line_number, raw_phone, mobile_code, mobile, state, message)
SELECT 1, g, g + 1, '+8801' || lpad(g::text, 9, '0'), '880', '1' || lpad(g::text, 9, '0'), 'queued', 'Hello ' || g
FROM generate_series(1, $N) g;
ANALYZE recipients;
SQL
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  record="$WORK/sent-$latency.jsonl"
  "$BIN" simulate --all-contacts --listen "127.0.0.1:$port" --latency-ms "$latency" --record "$record" >/dev/null 2>&1 &
  SIM_PID=$!
  export WUTT_BASE_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null -H "client-id: $WUTT_CLIENT_ID" -H "client-secret: $WUTT_CLIENT_SECRET" \
      "$WUTT_BASE_URL/inbox/template-list" && break
    sleep 0.1
  done
  t0=$(date +%s.%N)
  DATABASE_URL="$URL" WUTT_RATE=$RATE RUST_LOG=info "$BIN" run --once 2>"$WORK/run-$latency.log"
  t1=$(date +%s.%N)
  kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=""
  limit="$(sed -nE 's/.*limit=([0-9]+) ceiling=([0-9]+) latency_ms=([0-9]+).*/\1 (ceiling \2, latency \3 ms)/p' "$WORK/run-$latency.log" | tail -1)"
  python3 - "$record" "$N" "$RATE" "$latency" "$limit" "$t0" "$t1" <<'PY'
import json, sys
path, n, rate, latency, limit, t0, t1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6]), float(sys.argv[7])
ts = sorted(json.loads(line)["received_at_ms"] for line in open(path))
mobiles = [json.loads(line)["mobile"] for line in open(path)]
assert len(ts) == n, f"{len(ts)} messages reached the simulator, expected {n}"
assert len(set(mobiles)) == n, "a number was sent twice"
span = (ts[-1] - ts[0]) / 1000
achieved = (n - 1) / span
busiest, j = 0, 0
for i, t in enumerate(ts):
    while ts[j] <= t - 1000:
        j += 1
    busiest = max(busiest, i - j + 1)
print(f"latency {latency} ms: {n} sent in {span:.1f} s = {achieved:.1f}/s ({100*achieved/rate:.1f}% of {rate:.0f}/s); "
      f"busiest 1-s window {busiest}; in-flight limit {limit}; run --once wall {t1-t0:.1f} s")
PY
done
