#!/usr/bin/env bash
# make e2e-kind: the operator as users run it, in a kind cluster (needs Docker and kind): the image
# built and loaded, the Soracom simulator deployed from its own image (the Dockerfile's simulator
# target), the chart installed against it, then end-to-end scenarios. Without Docker, `make test`
# covers the same code against a local control plane. The cluster is deleted at the end unless
# E2E_KEEP_CLUSTER=1.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER="${KIND_CLUSTER:-soracom-esim-e2e}"
IMAGE="soracom-esim-operator:e2e"
SIM_IMAGE="soracom-esim-simulator:e2e"
NS=soracom-esim-system
SIM="http://soracom-simulator.$NS.svc:8080"
fail() { echo "e2e-kind: $*" >&2; exit 1; }
step() { printf '\n\033[1me2e-kind: %s\033[0m\n' "$*"; }

command -v docker >/dev/null || fail "docker is not installed; make e2e-kind needs Docker and kind (make test needs neither)"
docker info >/dev/null 2>&1 || fail "docker is installed but its engine does not answer (is the daemon running?)"
command -v kind >/dev/null || fail "kind is not installed: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
eval "$(bash test/controlplane/build.sh --print-env)"
[ -x "$KUBECTL_BIN" ] || KUBECTL_BIN=$(command -v kubectl) || fail "no kubectl (make controlplane builds one)"
[ -x "$HELM_BIN" ] || HELM_BIN=$(command -v helm) || fail "no helm (make controlplane builds one)"
kubectl() { "$KUBECTL_BIN" --context "kind-$CLUSTER" "$@"; }

step "cluster $CLUSTER"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 120s
[ "${E2E_KEEP_CLUSTER:-0}" = 1 ] || trap 'kind delete cluster --name "$CLUSTER"' EXIT

step "images $IMAGE and $SIM_IMAGE"
docker build -t "$IMAGE" .
docker build --target simulator -t "$SIM_IMAGE" .
kind load docker-image "$IMAGE" "$SIM_IMAGE" --name "$CLUSTER"

step "Soracom simulator and credentials"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$NS" create deployment soracom-simulator --image="$SIM_IMAGE" --port=8080 --dry-run=client -o yaml |
  kubectl apply -f -
kubectl -n "$NS" expose deployment soracom-simulator --port=8080 --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$NS" create secret generic soracom-credentials --from-literal=authKeyId=keyId-simulator \
  --from-literal=authKey=secret-simulator --from-literal=endpoint="$SIM" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$NS" rollout status deployment/soracom-simulator --timeout=120s

step "helm install charts/soracom-esim-operator"
"$HELM_BIN" --kube-context "kind-$CLUSTER" upgrade --install soracom-esim-operator charts/soracom-esim-operator \
  --namespace "$NS" --set image.repository=soracom-esim-operator --set image.tag=e2e --set image.pullPolicy=Never \
  --set credentials.existingSecret=soracom-credentials --set soracom.endpoint="$SIM" --wait --timeout 180s

bash scripts/e2e-scenarios.sh "$KUBECTL_BIN" "kind-$CLUSTER" "$NS"
step "passed"
