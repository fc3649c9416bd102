#!/usr/bin/env bash
# Runs the README's commands of "Going live" and "The report command", top to
# bottom and as written, against the simulator: `wutt-campaign simulate` on a
# free loopback port, a throwaway database (createdb on DATABASE_URL's server,
# or on 127.0.0.1:5432 as postgres when DATABASE_URL is unset) and a temporary
# working directory with a drop folder, as in a checkout of this repository.
#
# What it substitutes, and nothing else:
#   - `cargo install --path .` is skipped: the debug binary (target/debug, or
#     WUTT_CAMPAIGN_BIN) is put on the PATH instead;
#   - `export VAR=…` sets VAR to the rehearsal's value: DATABASE_URL (the
#     throwaway database), WUTT_CLIENT_ID, WUTT_CLIENT_SECRET(_FILE) (the
#     simulator's demo-id / demo-secret, the secret in a file); WUTT_BASE_URL
#     points at the simulator from the start;
#   - the files the README drops (list.csv, list.toml) are written by this
#     script: a template campaign named spring-offer, with one invalid and one
#     duplicate row.
# Every command must exit 0. Exits non-zero on the first failure, and always
# stops the simulator, drops the database and removes the directory.
#
#   scripts/readme-check.sh                       (CI runs it after cargo test)
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/readme-check.sh
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
readme="$repo/README.md"

for tool in createdb dropdb jq; do
  command -v "$tool" >/dev/null || { echo "readme-check: $tool is needed" >&2; exit 1; }
done

# The binary: the debug build, built now if missing or stale.
if [[ -n "${WUTT_CAMPAIGN_BIN:-}" ]]; then
  bin="$WUTT_CAMPAIGN_BIN"
else
  (cd "$repo" && cargo build --quiet --bin wutt-campaign)
  bin="$repo/target/debug/wutt-campaign"
fi
[[ -x "$bin" ]] || { echo "readme-check: no binary at $bin" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/wutt-readme-check.XXXXXX")"
admin_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="wutt_readme_check_$$_$RANDOM"
sim_pid=""
db_created=""

cleanup() {
  local status=$?
  if [[ -n "$sim_pid" ]]; then
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  if [[ -n "$db_created" ]]; then
    dropdb --if-exists --force --maintenance-db="$admin_url" "$db" 2>/dev/null \
      || dropdb --if-exists --maintenance-db="$admin_url" "$db" \
      || echo "readme-check: could not drop database $db" >&2
  fi
  rm -rf "$work"
  if [[ $status -eq 0 ]]; then
    echo "readme-check: every command worked as written"
  else
    echo "readme-check: FAILED (exit $status)" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The README's `sh` block under a heading, one command per line (a line
# ending in a backslash continues on the next).
commands_of() {
  awk -v heading="$1" '
    $0 == heading { found = 1; next }
    found && /^```sh/ { inside = 1; next }
    inside && /^```/ { exit }
    inside { print }
  ' "$readme" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta'
}

# The throwaway database, on the admin URL's server.
createdb --maintenance-db="$admin_url" "$db"
db_created=1
base="${admin_url%%\?*}"
query=""
[[ "$admin_url" == *\?* ]] && query="?${admin_url#*\?}"
if [[ "$base" =~ ^[a-z]+://[^/]*$ ]]; then
  db_url="$base/$db$query"
else
  db_url="${base%/*}/$db$query"
fi

# Nothing of the caller's Wutt settings leaks in.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^WUTT_' || true)

# The simulator on a free loopback port, with its default credentials.
"$bin" simulate --listen 127.0.0.1:0 >"$work/simulator.out" 2>"$work/simulator.err" &
sim_pid=$!
sim_url=""
for _ in $(seq 1 100); do
  sim_url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/simulator.out" | head -n1 || true)"
  [[ -n "$sim_url" ]] && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$work/simulator.err" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$sim_url" ]] || { echo "readme-check: the simulator did not start" >&2; exit 1; }
export WUTT_BASE_URL="$sim_url/external-api"

# The working directory: a drop folder, the binary on the PATH, the files the
# README drops.
mkdir -p "$work/run/campaigns/inbox" "$work/bin"
ln -s "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$work/bin/wutt-campaign"
export PATH="$work/bin:$PATH"
printf 'demo-secret\n' >"$work/secret"
cat >"$work/run/list.csv" <<'CSV'
phone,firstname
+8801711000101,Amina
+8801711000102,Bilal
+8801711000101,Amina again
01711000104,Chandni
+8801711000105,Dipu
CSV
cat >"$work/run/list.toml" <<'TOML'
name = "spring-offer"
template_id = 5
body_variables = ["{{firstname}}"]
TOML

# The environment the README's `export` lines ask for.
value_of() {
  case "$1" in
    DATABASE_URL) printf '%s' "$db_url" ;;
    WUTT_CLIENT_ID) printf 'demo-id' ;;
    WUTT_CLIENT_SECRET) printf 'demo-secret' ;;
    WUTT_CLIENT_SECRET_FILE) printf '%s' "$work/secret" ;;
    WUTT_BASE_URL) printf '%s' "$WUTT_BASE_URL" ;;
    *) return 1 ;;
  esac
}

# One script of both sections, each line echoed before it runs.
script="$work/readme.sh"
{
  echo 'set -euo pipefail'
  for heading in '## Going live' '### The report command'; do
    lines="$(commands_of "$heading")"
    [[ -n "$lines" ]] || { echo "readme-check: no sh block under '$heading'" >&2; exit 1; }
    printf 'echo %q\n' "== README: $heading"
    while IFS= read -r line; do
      [[ -z "${line// }" || "$line" =~ ^[[:space:]]*# ]] && continue
      case "$line" in
        "cargo install --path ."*)
          printf 'echo %q\n' "\$ $line   (skipped: $bin is on the PATH)"
          ;;
        export\ *)
          printf 'echo %q\n' "\$ $line   (the rehearsal's values)"
          for name in $(grep -o '[A-Z_][A-Z0-9_]*=' <<<"$line" | tr -d '='); do
            value="$(value_of "$name")" || {
              echo "readme-check: the README exports $name, which this script does not know" >&2
              exit 1
            }
            printf 'export %s=%q\n' "$name" "$value"
          done
          ;;
        *)
          printf 'echo %q\n' "\$ $line"
          printf '%s\n' "$line"
          ;;
      esac
    done <<<"$lines"
  done
} >"$script"

cd "$work/run"
bash "$script"

# What the commands wrote is there.
for f in summary.csv recipients.csv; do
  [[ -s "$f" ]] || { echo "readme-check: $f was not written" >&2; exit 1; }
done
grep -q 'spring-offer' summary.csv \
  || { echo "readme-check: summary.csv does not name the campaign" >&2; exit 1; }
