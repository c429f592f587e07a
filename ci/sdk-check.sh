#!/usr/bin/env bash
# Starts `riposte sandbox --tls`, then runs Microsoft's own Python SDKs against it (ci/sdk_check.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/riposte-ci-target}"

VENV="${RIPOSTE_SDK_VENV:-/tmp/riposte-sdk-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# Deprecated: msgraph-core's batch modules import it without declaring it as a dependency.
"$VENV/bin/pip" install --quiet --disable-pip-version-check azure-identity==1.27.0 msgraph-sdk==1.65.0 \
  azure-mgmt-network==33.1.0 azure-mgmt-compute==39.0.0 Deprecated==1.3.1

# Same feature set as the README test command, so nothing is rebuilt after it; builds target/debug/riposte.
cargo test --workspace --no-run --quiet
WORK=$(mktemp -d)
"$CARGO_TARGET_DIR/debug/riposte" sandbox --tls --listen 127.0.0.1:0 --describe "$WORK/describe.json" >"$WORK/sandbox.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/describe.json" 2>/dev/null && break
  sleep 0.1
done
[ -s "$WORK/describe.json" ] || { cat "$WORK/sandbox.log"; echo "sandbox did not start"; exit 1; }
"$VENV/bin/python" ci/sdk_check.py "$WORK/describe.json"
