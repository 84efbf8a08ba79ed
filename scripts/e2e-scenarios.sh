#!/usr/bin/env bash
# e2e-scenarios.sh <kubectl> <context> <operator-namespace>: end-to-end scenarios against an installed
# operator whose Soracom endpoint is the in-cluster simulator (see scripts/e2e-kind.sh):
#   1. an order of 3 becomes Ready with 3 EsimProfiles;
#   2. raising quantity to 5 orders exactly the difference;
#   3. a controller restart orders nothing again (exactly-once across restarts).
set -euo pipefail
KUBECTL="$1" CONTEXT="$2" NS="$3"
kubectl() { "$KUBECTL" --context "$CONTEXT" "$@"; }
step() { printf '\n\033[1me2e: %s\033[0m\n' "$*"; }
fail() { echo "e2e: FAILED: $*" >&2; exit 1; }

kubectl -n "$NS" port-forward svc/soracom-simulator 18080:8080 >/dev/null 2>&1 &
pf=$!
trap 'kill "$pf" 2>/dev/null || true' EXIT
sleep 2
creates() { # createProfileOrder calls the simulator has served
  curl -fsS http://127.0.0.1:18080/_sim/calls |
    node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).counts.createProfileOrder??0))'
}
profiles() { kubectl -n e2e get esimprofiles -o name | wc -l | tr -d ' '; }
apply_order() {
  kubectl apply -f - <<YAML
apiVersion: esim.soracom-operator.io/v1alpha1
kind: EsimProfileOrder
metadata: { name: fleet, namespace: e2e }
spec: { subscription: planX3, quantity: $1 }
YAML
}

step "1. an order of 3 becomes Ready with 3 EsimProfiles"
kubectl create namespace e2e --dry-run=client -o yaml | kubectl apply -f -
apply_order 3
kubectl -n e2e wait esimprofileorder/fleet --for=jsonpath='{.status.totals.provisioned}'=3 --timeout=300s
kubectl -n e2e wait esimprofileorder/fleet --for=condition=Ready --timeout=120s
[ "$(profiles)" = 3 ] || fail "expected 3 EsimProfiles, found $(profiles)"

step "2. quantity 5 orders exactly the difference"
apply_order 5
kubectl -n e2e wait esimprofileorder/fleet --for=jsonpath='{.status.totals.provisioned}'=5 --timeout=300s
[ "$(profiles)" = 5 ] || fail "expected 5 EsimProfiles, found $(profiles)"
before=$(creates)
[ "$before" = 2 ] || fail "expected 2 createProfileOrder calls (3, then 2), the simulator saw $before"

step "3. a controller restart orders nothing again"
kubectl -n "$NS" rollout restart deployment -l app.kubernetes.io/name=soracom-esim-operator
kubectl -n "$NS" rollout status deployment -l app.kubernetes.io/name=soracom-esim-operator --timeout=180s
sleep 20 # a few reconcile rounds of the new pod
[ "$(creates)" = "$before" ] || fail "createProfileOrder calls went from $before to $(creates) after a restart"
[ "$(profiles)" = 5 ] || fail "expected 5 EsimProfiles after the restart, found $(profiles)"
kubectl -n e2e get esimprofileorders,esimprofiles
