#!/usr/bin/env bash
# make demo: the whole operator on this machine, no Docker and no Soracom account. Builds what is
# missing, starts a local Kubernetes control plane (the test fixture), the Soracom API simulator and
# the controller in the background, applies examples/*.yaml, shows what happens, and leaves it all
# running. `make demo-stop` stops it. Running it again while the demo runs changes nothing.
#   SIMULATOR_PORT (default 8080)   DEMO_WATCH_SECONDS (default 120; 0 skips the live view)
#   DEMO_CONTROLLER=0: everything but the controller, to run your own against .demo/kubeconfig
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/demo-lib.sh

SIMULATOR_PORT="${SIMULATOR_PORT:-8080}"
CONTROLLER_HTTP="127.0.0.1:${CONTROLLER_HTTP_PORT:-8081}"
WATCH_SECONDS="${DEMO_WATCH_SECONDS:-120}"
SIM_URL="http://127.0.0.1:$SIMULATOR_PORT"
say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }

running=()
for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null && running+=("$c"); done
with_controller=1
[ "${DEMO_CONTROLLER:-1}" != 0 ] || with_controller=0
want=$((2 + with_controller))
if [ "${#running[@]}" -ge "$want" ]; then
  say "already running (${running[*]}); \`make demo-stop\` stops it"
  print_usage "$PWD/$DEMO_DIR/kubeconfig" "$SIM_URL"
  exit 0
elif [ "${#running[@]}" -gt 0 ]; then
  say "partly running (${running[*]}): restarting cleanly"
  bash scripts/demo-stop.sh
fi
mkdir -p "$DEMO_DIR"

# 1. Build what is missing.
[ -d node_modules ] || { say "installing dependencies (npm ci)"; npm ci --no-audit --no-fund; }
say "control-plane binaries (built once per machine, then cached)"
bash test/controlplane/build.sh etcd
bash test/controlplane/build.sh kubernetes
bash test/controlplane/build.sh controller-manager
eval "$(bash test/controlplane/build.sh --print-env | grep '^KUBECTL_BIN=')"
say "compiling (tsc)"
if ! npx tsc -p tsconfig.json; then
  [ -f dist/controller/cli.js ] || { say "the build failed; see above"; exit 1; }
  say "tsc reported errors (above); continuing with what it emitted"
fi
npx tsc -p scripts/tsconfig.demo.json
# Only now can a fresh clone have a controller to start: dist/ is what the compile step just made.
[ -f dist/controller/main.js ] || with_controller=0

# 2. The control plane: etcd + kube-apiserver with the CRDs installed.
say "starting the control plane (logs: $DEMO_DIR/controlplane.log)"
rm -f "$DEMO_DIR/controlplane.json"
start_component controlplane node .demo/build/scripts/demo-controlplane.js "$DEMO_DIR"
for ((i = 0; i < 1800; i++)); do
  [ -f "$DEMO_DIR/controlplane.json" ] && break
  pid_of controlplane >/dev/null || { tail -n 30 "$DEMO_DIR/controlplane.log"; say "the control plane failed to start"; exit 1; }
  sleep 0.1
done
[ -f "$DEMO_DIR/controlplane.json" ] || { say "the control plane did not start in 180 s"; exit 1; }
export KUBECONFIG="$PWD/$DEMO_DIR/kubeconfig"
say "control plane ready: $(grep -o 'ready in [0-9.]* s' "$DEMO_DIR/controlplane.log" | tail -n1)"

# 3. The Soracom API simulator, its state kept in a file.
say "starting the Soracom simulator on $SIM_URL (logs: $DEMO_DIR/simulator.log)"
start_component simulator node dist/simulator/cli.js --port "$SIMULATOR_PORT" \
  --state-file "$DEMO_DIR/simulator-state.json"
for ((i = 0; i < 100; i++)); do
  curl -fsS "$SIM_URL/_sim/clock" >/dev/null 2>&1 && break
  pid_of simulator >/dev/null || { tail -n 20 "$DEMO_DIR/simulator.log"; say "the simulator failed to start (port $SIMULATOR_PORT busy? set SIMULATOR_PORT)"; exit 1; }
  sleep 0.1
done

# 4. The controller, pointed at the simulator with the simulator's default credentials.
if [ "$with_controller" = 1 ]; then
  say "starting the controller in operator namespace $DEMO_OPERATOR_NAMESPACE (logs: $DEMO_DIR/controller.log; health and metrics on http://$CONTROLLER_HTTP)"
  POD_NAMESPACE="$DEMO_OPERATOR_NAMESPACE" \
    SORACOM_ENDPOINT="$SIM_URL" SORACOM_AUTH_KEY_ID=keyId-simulator SORACOM_AUTH_KEY=secret-simulator \
    start_component controller node dist/controller/cli.js controller --kubeconfig "$KUBECONFIG" \
    --http-address "$CONTROLLER_HTTP"
  sleep 2
  pid_of controller >/dev/null || {
    tail -n 20 "$DEMO_DIR/controller.log"
    say "the controller exited (above); the control plane and the simulator still run: make demo-stop"
    exit 1
  }
elif [ "${DEMO_CONTROLLER:-1}" = 0 ]; then
  say "DEMO_CONTROLLER=0: no controller started; run yours with KUBECONFIG=$KUBECONFIG SORACOM_ENDPOINT=$SIM_URL POD_NAMESPACE=$DEMO_OPERATOR_NAMESPACE"
else
  say "no controller yet (dist/controller/main.js is missing): showing the control plane and the simulator only"
fi

# 5. The examples, and what happens to them.
say "applying examples/*.yaml (credentials: the simulator's)"
bash scripts/demo-examples.sh "$KUBECTL_BIN" "$SIM_URL" "$DEMO_OPERATOR_NAMESPACE"
if [ "$WATCH_SECONDS" -gt 0 ]; then bash scripts/demo-watch.sh "$KUBECTL_BIN" "$WATCH_SECONDS"; fi

print_usage "$KUBECONFIG" "$SIM_URL"
