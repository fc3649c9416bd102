#!/usr/bin/env bash
# Delivery benchmarks (release build, real PostgreSQL, the simulator as a
# separate process):
#  (a) 100,000 recipients, no latency, no limit → sends per second with full
#      bookkeeping, beside pgbench running bench/claim_complete.sql (the
#      runner's own claim and completion statements, checked by a unit test,
#      at batch 50) on the same server in the same run;
#  (b) 10,000 recipients, 200 ms simulated latency, an 80/s limit → achieved rate.
# Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/delivery.sh [a|b|all]
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
WHICH="${1:-all}"
N_A="${BENCH_N_A:-100000}"
N_B="${BENCH_N_B:-10000}"
CONC_A="${BENCH_CONCURRENCY_A:-256}"
PGB_CLIENTS="${BENCH_PGBENCH_CLIENTS:-4}"
PGB_SECS="${BENCH_PGBENCH_SECS:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/wutt-campaign"

DB="wutt_bench_$$"
db_url() { python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$ADMIN_URL" "$1"; }
URL="$(db_url "$DB")"
# The runner and pgbench reach PostgreSQL over its Unix socket when there is
# one, so both pay the same transport. BENCH_SOCKET_DIR= (empty) measures over
# TCP instead (TCP_NODELAY is set by the vendored sqlx-core fix).
SOCKET_DIR="${BENCH_SOCKET_DIR-/var/run/postgresql}"
PG_USER="$(python3 -c 'import sys,urllib.parse as u; print(u.urlsplit(sys.argv[1]).username or "postgres")' "$ADMIN_URL")"
if [ -n "$SOCKET_DIR" ] && [ -S "$SOCKET_DIR/.s.PGSQL.5432" ]; then
  RUN_URL="postgres://$PG_USER@localhost/$DB?host=$SOCKET_DIR"
  PGB_ARGS=(-h "$SOCKET_DIR" -U "$PG_USER" "$DB")
else
  RUN_URL="$URL"
  PGB_ARGS=("$URL")
fi
SIM_PID=""
cleanup() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

export WUTT_CLIENT_ID=bench-id WUTT_CLIENT_SECRET=bench-secret RUST_LOG=warn
export WUTT_CAMPAIGNS_DIR="$(mktemp -d)"

fresh_db() {
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null
  DATABASE_URL="$URL" "$BIN" migrate >/dev/null
}

# seed NAME N: a text campaign with N queued recipients.
seed() {
  psql -qAt "$URL" <<SQL
INSERT INTO campaigns (name, source_sha256, source_file, message_template)
VALUES ('$1', sha256('$1'::bytea), '$1.csv', 'Hello') ;
INSERT INTO recipients (campaign_id, row_number, line_number, raw_phone, mobile_code, mobile, state, message)
SELECT (SELECT id FROM campaigns WHERE name = '$1'), g, g + 1, '+8801' || lpad(g::text, 9, '0'),
       '880', '1' || lpad(g::text, 9, '0'), 'queued', 'Hello number ' || g
FROM generate_series(1, $2) g;
ANALYZE recipients;
SQL
}

start_sim() {
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  # No --rate-limit: the simulator does not limit; the runner's own limit is
  # what is measured.
  "$BIN" simulate --all-contacts --listen "127.0.0.1:$port" "$@" >/dev/null 2>&1 &
  SIM_PID=$!
  export WUTT_BASE_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null -H "client-id: $WUTT_CLIENT_ID" -H "client-secret: $WUTT_CLIENT_SECRET" \
      "$WUTT_BASE_URL/inbox/template-list" && return 0
    sleep 0.1
  done
  echo "simulator did not start" >&2; exit 1
}

stop_sim() { kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=""; }

# rate CAMPAIGN: sent rows, span between first and last sent_at, and the rate over it.
rate() {
  psql -qAt -F ' ' "$URL" -c "
    SELECT count(*), round(extract(epoch FROM max(sent_at) - min(sent_at))::numeric, 2),
           round(((count(*) - 1) / nullif(extract(epoch FROM max(sent_at) - min(sent_at)), 0))::numeric, 1)
    FROM recipients r JOIN campaigns c ON c.id = r.campaign_id
    WHERE c.name = '$1' AND r.state = 'sent'"
}

bench_a() {
  echo "== (a) $N_A recipients, no latency, no limit, concurrency $CONC_A, batch 50"
  fresh_db
  seed bench-a "$N_A"
  start_sim
  local t0 t1
  t0=$(date +%s.%N)
  DATABASE_URL="$RUN_URL" WUTT_RATE=1000000 WUTT_CONCURRENCY="$CONC_A" "$BIN" run --once --batch-size 50 --burst 100000
  t1=$(date +%s.%N)
  stop_sim
  read -r sent span r <<<"$(rate bench-a)"
  local wall
  wall=$(python3 -c "print(round($N_A/($t1-$t0),1))")
  echo "runner: $sent sent in ${span}s between first and last send = $r sends/s (wall clock incl. start: $wall/s)"

  echo "== pgbench: bench/claim_complete.sql, $PGB_CLIENTS clients, ${PGB_SECS}s, batch 50"
  fresh_db
  seed pgbench 600000
  local tps
  tps=$(pgbench -n -M prepared -c "$PGB_CLIENTS" -j 2 -T "$PGB_SECS" -f bench/claim_complete.sql "${PGB_ARGS[@]}" 2>/dev/null \
        | awk '/^tps/ {print $3; exit}')
  local jobs
  jobs=$(python3 -c "print(round($tps*50))")
  echo "pgbench: $tps batches/s = $jobs claim-and-complete jobs/s"
  echo "RESULT (a): runner $r sends/s vs pgbench $jobs jobs/s ($(python3 -c "print(round(100*$r/$jobs))")% of raw)"
}

bench_b() {
  echo "== (b) $N_B recipients, 200 ms latency, 80/s limit"
  fresh_db
  seed bench-b "$N_B"
  start_sim --latency-ms 200
  DATABASE_URL="$RUN_URL" WUTT_RATE=80 WUTT_CONCURRENCY=64 "$BIN" run --once --batch-size 50
  stop_sim
  read -r sent span r <<<"$(rate bench-b)"
  echo "RESULT (b): $sent sent in ${span}s = $r sends/s (target 80/s, $(python3 -c "print(round(100*($r-80)/80,2))")%)"
}

case "$WHICH" in
  a) bench_a ;;
  b) bench_b ;;
  all) bench_a; bench_b ;;
  *) echo "usage: $0 [a|b|all]" >&2; exit 2 ;;
esac
