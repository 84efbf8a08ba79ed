#!/usr/bin/env bash
# make e2e-kind: the five scenarios of make e2e (test/e2e) on a kind cluster, for machines with Docker and
# kind. The images are built from the Dockerfile with Docker on the real node:24-slim, loaded into kind,
# and installed by scripts/e2e/install.sh exactly as make e2e installs them (the simulator's Service at
# 10.96.0.50, inside kind's Service range). The scenarios reach the simulator through a port-forward and
# kill the controller's container with ctr on the kind node. The cluster is deleted at the end unless
# E2E_KEEP_CLUSTER=1. Not run by CI (no Docker there): make e2e runs the same scenarios without Docker.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER="${KIND_CLUSTER:-soracom-esim-e2e}"
fail() { echo "e2e-kind: $*" >&2; exit 1; }
step() { printf '\n\033[1me2e-kind: %s\033[0m\n' "$*"; }

command -v docker >/dev/null || fail "docker is not installed; make e2e-kind needs Docker and kind (make e2e needs neither)"
docker info >/dev/null 2>&1 || fail "docker is installed but its engine does not answer (is the daemon running?)"
command -v kind >/dev/null || fail "kind is not installed: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
eval "$(bash test/controlplane/build.sh --print-env)"
[ -x "$KUBECTL_BIN" ] || KUBECTL_BIN=$(command -v kubectl) || fail "no kubectl (make controlplane builds one)"
[ -x "$HELM_BIN" ] || HELM_BIN=$(command -v helm) || fail "no helm (make controlplane builds one)"
export KUBECTL_BIN HELM_BIN
[ -f dist/plugin/cli.js ] || npx tsc -p tsconfig.json

step "cluster $CLUSTER"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 120s
kubeconfig=$(mktemp)
cleanup() {
  [ -n "${pf:-}" ] && kill "$pf" 2>/dev/null
  rm -f "$kubeconfig"
  [ "${E2E_KEEP_CLUSTER:-0}" = 1 ] || kind delete cluster --name "$CLUSTER"
}
trap cleanup EXIT
kind get kubeconfig --name "$CLUSTER" > "$kubeconfig"

step "images (Docker, node:24-slim) loaded into kind"
docker build --target controller -t localhost/soracom-esim-operator:test .
docker build --target simulator -t localhost/soracom-esim-simulator:test .
kind load docker-image localhost/soracom-esim-operator:test localhost/soracom-esim-simulator:test --name "$CLUSTER"

step "simulator and chart (scripts/e2e/install.sh)"
E2E_NO_NETNS=1 E2E_KUBECONFIG="$kubeconfig" bash scripts/e2e/install.sh

step "scenarios (test/e2e)"
"$KUBECTL_BIN" --kubeconfig "$kubeconfig" -n soracom-simulator port-forward svc/soracom-simulator 18080:8080 >/dev/null 2>&1 &
pf=$!
sleep 2
mkdir -p .e2e
E2E_KUBECONFIG="$kubeconfig" E2E_SIMULATOR_URL=http://127.0.0.1:18080 \
  E2E_CTR="docker exec $CLUSTER-control-plane ctr" E2E_RESULTS="$PWD/.e2e/results-kind.json" \
  npx vitest run --config test/e2e/vitest.config.ts
step "passed"
