#!/usr/bin/env bash
# Runs the client's real requests (through the wutt-campaign command line)
# against a Prism mock of docs/wutt-api/openapi.yaml on loopback. Prism answers
# 422 (exit code 1 here) to any request that violates the spec, so every
# command must exit 0. Nothing reaches the real Wutt host.
#
# Needs Node/npm (Prism is installed into $PRISM_DIR on first use).
# Usage: scripts/prism-check.sh        (PRISM_PORT, PRISM_DIR to override)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SPEC="$ROOT/docs/wutt-api/openapi.yaml"
PORT=${PRISM_PORT:-4010}
PRISM_DIR=${PRISM_DIR:-/tmp/prism}
WORK=$(mktemp -d)

if [ ! -x "$PRISM_DIR/node_modules/.bin/prism" ]; then
  mkdir -p "$PRISM_DIR"
  (cd "$PRISM_DIR" && npm init -y >/dev/null && npm install --silent @stoplight/prism-cli)
fi

# Start the node server directly (not through npx) so that its PID is ours to stop.
"$PRISM_DIR/node_modules/.bin/prism" mock "$SPEC" -h 127.0.0.1 -p "$PORT" >"$WORK/prism.log" 2>&1 &
PRISM_PID=$!
cleanup() { kill "$PRISM_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 60); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  kill -0 "$PRISM_PID" 2>/dev/null || { cat "$WORK/prism.log"; exit 1; }
  sleep 0.5
done

(cd "$ROOT" && cargo build --quiet)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/wutt-campaign"

# Prism matches paths without a server prefix.
export WUTT_BASE_URL="http://127.0.0.1:$PORT" WUTT_CLIENT_ID=prism-check WUTT_CLIENT_SECRET=prism-check-secret
printf 'jpeg' >"$WORK/photo.jpg"
printf '%%PDF-1.4' >"$WORK/doc.pdf"

failures=0
run() {
  if "$BIN" "$@" --json >"$WORK/out.json" 2>"$WORK/err.txt"; then
    echo "ok    $*"
  else
    echo "FAIL  $*"; cat "$WORK/err.txt" "$WORK/out.json"; failures=$((failures + 1))
  fi
}

TO=+8801988123456
run templates list
run contacts list
run contacts list --page 2 --paginate 50 --search Doe
run contacts add --phone "$TO" --firstname Jo --lastname Doe --city Dhaka --zip 1207 --profile-image "$WORK/photo.jpg"
run contacts update 7 --phone "$TO" --firstname Jo --lastname Roe
run contacts delete 5
run conversations list
run conversations list --status pending --page 1 --paginate 20
run conversations list --status done
run conversations show 2
run conversations set-status 2 important
run send --to "$TO" --template 1
run send --to "$TO" --template 6 --body-variable Amina --body-variable "Tuesday 10:00"
run send --to "$TO" --template 7 --header-variable "#1042" --body-variable Amina --from-number "+1 555-010-5555"
run send --to "$TO" --message "Hello from the Prism check"
run send --to "$TO" --image "$WORK/photo.jpg"
run send --to "$TO" --document "$WORK/doc.pdf" --message caption
run send --to "$TO" --latitude 23.81 --longitude 90.41 --from-number 8801700000000

if [ "$failures" -ne 0 ]; then
  echo "$failures call(s) did not conform (see Prism's sl-violations in $WORK/prism.log)"
  exit 1
fi
echo "all calls conform to $SPEC"
