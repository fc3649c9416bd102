#!/usr/bin/env bash
# The console's campaigns page with many campaigns and one big one: seeds 200
# campaigns of 1,000 recipients and one of 1,000,000 (states mixed; one
# successful send_attempts row per sent recipient: 20,000 of them in the last
# minute, the others an hour or two old), starts `wutt-campaign console`, and
# times the campaigns page (/), its JSON (/api/campaigns) and its live rows
# (/live/campaigns) over repeated requests. Before each page the recent
# attempts are moved back into the last minute (the timing outlasts it), left
# unvacuumed like a table being written to. Prints median and p95 in
# milliseconds. The counts come from the maintained summary of
# migrations/0009_console.sql and the sends of the last minute from the
# send_attempts_campaign index, so neither grows with the size of a campaign.
# Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/console.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REQUESTS="${1:-200}"
BIG="${BENCH_BIG:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/wutt-campaign"

DB="wutt_bench_console_$$"
URL="$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$ADMIN_URL" "$DB")"
WORK="$(mktemp -d)"
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null
DATABASE_URL="$URL" "$BIN" migrate >/dev/null

echo "seeding 200 campaigns of 1,000 and one of $BIG recipients"
psql -q "$URL" <<SQL
INSERT INTO campaigns (name, source_sha256, source_file, message_template, status, started_at)
SELECT 'campaign-' || i, sha256(('c' || i)::bytea), 'campaign-' || i || '.csv', 'Hi {{firstname}}',
       (ARRAY['active', 'paused', 'completed', 'cancelled'])[1 + i % 4], now() - interval '1 hour'
FROM generate_series(1, 200) i;
INSERT INTO recipients (campaign_id, row_number, line_number, raw_phone, mobile_code, mobile, state)
SELECT c.id, r, r + 1, '+8801' || lpad(r::text, 9, '0'), '880', '1' || lpad(r::text, 9, '0'),
       (ARRAY['queued', 'sent', 'sent', 'failed', 'invalid'])[1 + r % 5]
FROM campaigns c, generate_series(1, 1000) r;
INSERT INTO campaigns (name, source_sha256, source_file, message_template, status, started_at)
VALUES ('big', sha256('big'::bytea), 'big.csv', 'Hi {{firstname}}', 'active', now() - interval '1 hour');
INSERT INTO recipients (campaign_id, row_number, line_number, raw_phone, mobile_code, mobile, state)
SELECT (SELECT id FROM campaigns WHERE name = 'big'), r, r + 1, '+8801' || lpad(r::text, 9, '0'),
       '880', '1' || lpad(r::text, 9, '0'),
       CASE WHEN r <= $BIG * 6 / 10 THEN 'sent' WHEN r % 50 = 0 THEN 'failed' ELSE 'queued' END
FROM generate_series(1, $BIG) r;
INSERT INTO send_attempts (recipient_id, campaign_id, attempt, lease_token, worker, started_at,
                           finished_at, duration_ms, http_status, outcome)
SELECT r.id, r.campaign_id, 1, 1, 'bench', now() - interval '30 seconds',
       now() - (random() * interval '55 seconds'), 300, 200, 'success'
FROM recipients r WHERE r.campaign_id = (SELECT id FROM campaigns WHERE name = 'big')
ORDER BY r.id LIMIT 20000;
INSERT INTO send_attempts (recipient_id, campaign_id, attempt, lease_token, worker, started_at,
                           finished_at, duration_ms, http_status, outcome)
SELECT r.id, r.campaign_id, 1, 1, 'bench-history', now() - interval '2 hours',
       now() - interval '2 hours' + (r.id % 3600) * interval '1 second', 300, 200, 'success'
FROM recipients r WHERE r.state = 'sent'
  AND NOT EXISTS (SELECT 1 FROM send_attempts a WHERE a.recipient_id = r.id);
SELECT campaign_counts_compact();
VACUUM ANALYZE;
SQL

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
TOKEN="bench-console-token-$$-0123456789"
DATABASE_URL="$URL" WUTT_CAMPAIGNS_DIR="$WORK" WUTT_CONSOLE_TOKEN="$TOKEN" RUST_LOG=warn \
  "$BIN" console --addr "127.0.0.1:$PORT" 2>"$WORK/console.log" &
PID=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/login" && break; sleep 0.1; done

time_path() {
  local path="$1" file="$WORK/times"
  : >"$file"
  psql -q "$URL" -c "UPDATE send_attempts SET finished_at = now() - random() * interval '55 seconds'
                     WHERE worker = 'bench'"
  for _ in $(seq 1 10); do   # warm-up
    curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path"
  done
  for _ in $(seq 1 "$REQUESTS"); do
    curl -sf -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" \
      "http://127.0.0.1:$PORT$path" >>"$file"
  done
  python3 - "$path" "$file" <<'PY'
import sys
t = sorted(float(l) * 1000 for l in open(sys.argv[2]) if l.strip())
p = lambda q: t[min(len(t) - 1, int(round(q * (len(t) - 1))))]
print(f"{sys.argv[1]:<16} {len(t)} requests: median {p(0.5):.1f} ms, p95 {p(0.95):.1f} ms, max {t[-1]:.1f} ms")
PY
}
BYTES="$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/" | wc -c)"
echo "campaigns page: $BYTES bytes, 201 campaigns"
time_path /
time_path /api/campaigns
time_path /live/campaigns
