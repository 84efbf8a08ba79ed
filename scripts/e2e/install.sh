#!/usr/bin/env bash
# install.sh: into the e2e cluster, the Soracom simulator from its image (a Deployment and a Service at
# the fixed ClusterIP $E2E_SIMULATOR_IP in the namespace soracom-simulator: there is no cluster DNS), then
# the chart exactly as docs/install.md installs it: its marked blocks, run as written (install-doc.sh),
# with this run's image and the simulator as SORACOM_ENDPOINT, up to a first Ready order in `fleet`. Then
# what only the scenarios need, as a helm upgrade: the account also selects namespaces labelled
# soracom-esim-e2e=true (fleet gets the label), lets them bring their own credentials, a budget of 1000,
# debug logs. scripts/e2e-kind.sh runs it against kind with E2E_NO_NETNS=1 and E2E_KUBECONFIG set.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/e2e/lib.sh
e2e_bins
d="$E2E_DIR"
NS=esim-system
SIM_NS=soracom-simulator
kubeconfig="${E2E_KUBECONFIG:-$d/admin.kubeconfig}"
run() { if [ "${E2E_NO_NETNS:-0}" = 1 ]; then "$@"; else in_ns "$@"; fi; }
kc() { run "$KUBECTL_BIN" --kubeconfig "$kubeconfig" "$@"; }
t0=$(date +%s)

kc create namespace "$SIM_NS" --dry-run=client -o yaml | kc apply -f - >/dev/null
kc apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: soracom-simulator, namespace: $SIM_NS}
spec:
  replicas: 1
  selector: {matchLabels: {app: soracom-simulator}}
  template:
    metadata: {labels: {app: soracom-simulator}}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: simulator
          image: ${E2E_IMAGES[1]}
          imagePullPolicy: Never
          args: [--host, 0.0.0.0, --port, "8080", --confirm-delay-ms, "500", --in-progress-delay-ms, "1500"]
          ports: [{containerPort: 8080}]
          readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: soracom-simulator, namespace: $SIM_NS}
spec:
  clusterIP: $E2E_SIMULATOR_IP
  selector: {app: soracom-simulator}
  ports: [{port: 8080, targetPort: 8080}]
YAML
kc -n "$SIM_NS" rollout status deployment/soracom-simulator --timeout=120s >&2
e2e_log "simulator ready in $(($(date +%s) - t0))s"

bash scripts/e2e/install-doc.sh

t1=$(date +%s)
kc label namespace fleet soracom-esim-e2e=true >/dev/null
run "$HELM_BIN" --kubeconfig "$kubeconfig" upgrade soracom-esim-operator charts/soracom-esim-operator \
  -n "$NS" --reuse-values --wait --timeout 180s \
  --set-json 'accounts.create.namespaces=[]' --set-string accounts.create.namespaceSelector.matchLabels.soracom-esim-e2e=true \
  --set accounts.create.tenantCredentials=true --set accounts.tenantCredentials=true \
  --set budgets.spend.limit=1000 --set controller.logLevel=debug "$@" >&2
kc wait soracomaccount/default --for=condition=Ready --timeout=60s >&2
e2e_log "scenario settings (helm upgrade) in $(($(date +%s) - t1))s; simulator and chart installed in $(($(date +%s) - t0))s"
