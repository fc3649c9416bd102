#!/usr/bin/env bash
# Benchmark of `wutt-campaign load`: generates a CSV of ROWS rows (default
# 1,000,000: phone, firstname, lastname, city), loads it into a fresh database
# with the release build, and in the same run `psql \copy`s the same file into
# a bare table with the columns and indexes of `recipients` in another fresh
# database. Prints both times, their ratio, load's peak RSS and the load
# average (on a shared machine, compare only figures of the same run).
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/load.sh [ROWS]
#
# Targets: load <= 1.3 x raw COPY, peak RSS < 100 MiB.
set -euo pipefail

ROWS=${1:-1000000}
ADMIN_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/wutt-campaign

if [ ! -x /usr/bin/time ]; then
    echo "bench/load.sh needs GNU time for the peak RSS: apt-get install -y time" >&2
    exit 2
fi
command -v psql >/dev/null || { echo "bench/load.sh needs psql" >&2; exit 2; }

(cd "$ROOT" && cargo build --release --quiet)

WORK=$(mktemp -d)
SUFFIX=$$_$RANDOM
LOAD_DB=bench_load_$SUFFIX
COPY_DB=bench_copy_$SUFFIX
db_url() { python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$ADMIN_URL" "$1"; }
cleanup() {
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $LOAD_DB WITH (FORCE)" >/dev/null 2>&1 || true
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $COPY_DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

CSV=$WORK/bench.csv
echo "generating $ROWS rows..."
awk -v n="$ROWS" 'BEGIN {
    print "phone,firstname,lastname,city";
    split("Dhaka Chittagong Khulna Rajshahi Sylhet Barisal Rangpur Comilla", cities, " ");
    for (i = 0; i < n; i++)
        printf "+88017%08d,First%d,Last%d,%s\n", i, i, i % 977, cities[i % 8 + 1];
}' > "$CSV"
printf 'name = "bench"\nmessage = "Hi {{firstname}} from {{city}}"\n' > "$WORK/bench.toml"
echo "file: $(du -h "$CSV" | cut -f1)"

psql -q "$ADMIN_URL" -c "CREATE DATABASE $LOAD_DB" >/dev/null
psql -q "$ADMIN_URL" -c "CREATE DATABASE $COPY_DB" >/dev/null
LOAD_URL=$(db_url "$LOAD_DB")
COPY_URL=$(db_url "$COPY_DB")
export WUTT_CAMPAIGNS_DIR=$WORK/campaigns
DATABASE_URL=$LOAD_URL "$BIN" migrate >/dev/null
psql -q "$COPY_URL" -f "$HERE/load_bare_table.sql" >/dev/null

now() { date +%s.%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Each timed step starts from a checkpoint, so neither pays for flushing the
# other's writes (a 1,000,000-row load writes more WAL than max_wal_size).
psql -q "$ADMIN_URL" -c CHECKPOINT >/dev/null
LOADAVG_COPY=$(loadavg)
t0=$(now)
psql -q "$COPY_URL" -c "\\copy recipients (raw_phone, message, from_number, error) FROM '$CSV' WITH (FORMAT csv, HEADER true)"
t1=$(now)
COPY_S=$(echo "$t1 - $t0" | bc -l)

psql -q "$ADMIN_URL" -c CHECKPOINT >/dev/null
LOADAVG_LOAD=$(loadavg)
t0=$(now)
DATABASE_URL=$LOAD_URL RUST_LOG=warn /usr/bin/time -v -o "$WORK/time.txt" \
    "$BIN" load --settle 0 "$CSV" > "$WORK/load.out"
t1=$(now)
LOAD_S=$(echo "$t1 - $t0" | bc -l)

LOADED=$(psql -qtA "$LOAD_URL" -c "SELECT count(*) FROM recipients")
COPIED=$(psql -qtA "$COPY_URL" -c "SELECT count(*) FROM recipients")
RSS_KB=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")

cat "$WORK/load.out"
printf 'rows:               %d loaded, %d copied\n' "$LOADED" "$COPIED"
printf 'raw psql \\copy:     %.2f s   (load average before: %s)\n' "$COPY_S" "$LOADAVG_COPY"
printf 'wutt-campaign load: %.2f s   (load average before: %s)\n' "$LOAD_S" "$LOADAVG_LOAD"
printf 'ratio load/copy:    %.2f (target <= 1.3)\n' "$(echo "$LOAD_S / $COPY_S" | bc -l)"
printf 'load peak RSS:      %.1f MiB (target < 100)\n' "$(echo "$RSS_KB / 1024" | bc -l)"
printf 'load average after: %s (%s cores)\n' "$(loadavg)" "$(nproc)"
[ "$LOADED" -eq "$ROWS" ] || { echo "expected $ROWS recipients, got $LOADED" >&2; exit 1; }
