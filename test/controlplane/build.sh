#!/usr/bin/env bash
# Builds the binaries of the test control plane from the Go module proxy, once per machine:
# kube-apiserver, kubectl and kube-controller-manager (k8s.io/kubernetes), etcd (go.etcd.io/etcd/server/v3) and helm.
# Output goes to $CACHE/<component>-<version>/; each is built into a temp folder and moved into
# place only when complete, so an interrupted build leaves nothing half-done and a rerun resumes.
# Users who already have binaries set KUBE_APISERVER_BIN / ETCD_BIN / KUBECTL_BIN / HELM_BIN or
# KUBEBUILDER_ASSETS; `build.sh --print-env` prints the variables the tests and demo read.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
HELM_VERSION="${HELM_VERSION:-3.22.0}"
CACHE="${SORACOM_ESIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/soracom-esim-operator/bin}"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"

k8s_dir="$CACHE/kubernetes-v$K8S_VERSION"
etcd_dir="$CACHE/etcd-v$ETCD_VERSION"
helm_dir="$CACHE/helm-v$HELM_VERSION"
kcm_dir="$CACHE/kube-controller-manager-v$K8S_VERSION"
node_dir="$CACHE/kube-node-v$K8S_VERSION"

log() { printf '[controlplane-build] %s\n' "$*" >&2; }

print_env() {
  local assets="${KUBEBUILDER_ASSETS:-}"
  echo "KUBE_APISERVER_BIN=${KUBE_APISERVER_BIN:-${assets:+$assets/kube-apiserver}}"
  echo "ETCD_BIN=${ETCD_BIN:-${assets:+$assets/etcd}}"
  echo "KUBECTL_BIN=${KUBECTL_BIN:-${assets:+$assets/kubectl}}"
  echo "HELM_BIN=${HELM_BIN:-}"
  echo "KUBE_CONTROLLER_MANAGER_BIN=${KUBE_CONTROLLER_MANAGER_BIN:-${assets:+$assets/kube-controller-manager}}"
}
resolved() { # name default-path -> the user's override or the cache path
  local var="$1" def="$2"
  local v="${!var:-}"
  if [ -z "$v" ] && [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ "$var" != HELM_BIN ]; then
    case "$var" in KUBE_CONTROLLER_MANAGER_BIN) v="$KUBEBUILDER_ASSETS/kube-controller-manager";; KUBE_APISERVER_BIN) v="$KUBEBUILDER_ASSETS/kube-apiserver";; ETCD_BIN) v="$KUBEBUILDER_ASSETS/etcd";; KUBECTL_BIN) v="$KUBEBUILDER_ASSETS/kubectl";; esac
  fi
  echo "${v:-$def}"
}

if [ "${1:-}" = "--print-env" ]; then
  echo "KUBE_APISERVER_BIN=$(resolved KUBE_APISERVER_BIN "$k8s_dir/kube-apiserver")"
  echo "ETCD_BIN=$(resolved ETCD_BIN "$etcd_dir/etcd")"
  echo "KUBECTL_BIN=$(resolved KUBECTL_BIN "$k8s_dir/kubectl")"
  echo "HELM_BIN=$(resolved HELM_BIN "$helm_dir/helm")"
  echo "KUBE_CONTROLLER_MANAGER_BIN=$(resolved KUBE_CONTROLLER_MANAGER_BIN "$kcm_dir/kube-controller-manager")"
  exit 0
fi

if [ "${1:-}" = "--node-dir" ]; then echo "$node_dir"; exit 0; fi

want="${1:-all}" # all | kubernetes | controller-manager | etcd | helm | node
mkdir -p "$CACHE"
start_all=$(date +%s)
built_any=0

# k8s_wrapper writes, in $1, a module that builds the listed k8s.io/kubernetes commands: k8s.io/kubernetes
# cannot be required as is (its staging modules are replaced by ./staging paths), so each staging module
# is replaced by its published v0.x version.
k8s_wrapper() {
  local work="$1"; shift
  log "k8s.io/kubernetes v$K8S_VERSION: fetching its go.mod for the staging list"
  local gomod; gomod=$(cd "$work" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  local staging; staging=$(grep -E '=> \./staging/src/' "$gomod" | awk '{print $1}' | sort -u)
  log "$(echo "$staging" | wc -l) staging modules to replace with v0.${K8S_VERSION#1.}"
  {
    echo "module soracom-esim-operator/controlplane-build"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    for m in $staging; do echo "replace $m => $m v0.${K8S_VERSION#1.}"; done
  } > "$work/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for cmd in "$@"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$cmd"; done
    printf ')\n'
  } > "$work/tools.go"
  (cd "$work" && log "resolving modules (go mod tidy)" && go mod tidy >&2)
}

k8s_ldflags() {
  echo "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
}

build_kubernetes() {
  local ab; ab=$(resolved KUBE_APISERVER_BIN "$k8s_dir/kube-apiserver")
  if [ -x "$ab" ] && [ -x "$(resolved KUBECTL_BIN "$k8s_dir/kubectl")" ]; then log "kube-apiserver + kubectl v$K8S_VERSION: cached ($ab)"; return; fi
  built_any=1
  local t0; t0=$(date +%s)
  local work; work=$(mktemp -d "$CACHE/.build-kubernetes.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  k8s_wrapper "$work" kube-apiserver kubectl
  local ldflags; ldflags=$(k8s_ldflags)
  log "compiling kube-apiserver and kubectl (many minutes on 2 cores the first time)"
  mkdir -p "$work/out"
  (cd "$work" && go build -trimpath -ldflags "$ldflags" -o out/ k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
  rm -rf "$k8s_dir.tmp" && mv "$work/out" "$k8s_dir.tmp" && rm -rf "$k8s_dir" && mv "$k8s_dir.tmp" "$k8s_dir"
  log "kube-apiserver + kubectl v$K8S_VERSION built in $(( $(date +%s) - t0 ))s -> $k8s_dir"
}

build_controller_manager() {
  local cb; cb=$(resolved KUBE_CONTROLLER_MANAGER_BIN "$kcm_dir/kube-controller-manager")
  if [ -x "$cb" ]; then log "kube-controller-manager v$K8S_VERSION: cached ($cb)"; return; fi
  built_any=1
  local t0; t0=$(date +%s)
  local work; work=$(mktemp -d "$CACHE/.build-kcm.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  k8s_wrapper "$work" kube-controller-manager
  log "compiling kube-controller-manager (a minute or two once kube-apiserver's build cache exists)"
  mkdir -p "$work/out"
  (cd "$work" && go build -trimpath -ldflags "$(k8s_ldflags)" -o out/ k8s.io/kubernetes/cmd/kube-controller-manager)
  rm -rf "$kcm_dir" && mv "$work/out" "$kcm_dir"
  log "kube-controller-manager v$K8S_VERSION built in $(( $(date +%s) - t0 ))s -> $kcm_dir"
}

# build_node: what `make e2e` adds to the control plane to make a node: kube-scheduler, kubelet, kube-proxy
# and a pause program (scripts/e2e/pause: a static Go binary that sleeps and reaps, the sandbox image).
build_node() {
  if [ -x "$node_dir/kubelet" ] && [ -x "$node_dir/kube-scheduler" ] && [ -x "$node_dir/kube-proxy" ] && [ -x "$node_dir/pause" ]; then
    log "kube-scheduler + kubelet + kube-proxy + pause v$K8S_VERSION: cached ($node_dir)"; return
  fi
  built_any=1
  local t0; t0=$(date +%s)
  local work; work=$(mktemp -d "$CACHE/.build-node.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  k8s_wrapper "$work" kube-scheduler kubelet kube-proxy
  log "compiling kube-scheduler, kubelet and kube-proxy (minutes once kube-apiserver's build cache exists)"
  mkdir -p "$work/out"
  (cd "$work" && go build -trimpath -ldflags "$(k8s_ldflags)" -o out/ k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
  log "compiling pause (scripts/e2e/pause)"
  (cd "$(dirname "$0")/../../scripts/e2e/pause" && go build -trimpath -ldflags "-s -w" -o "$work/out/pause" .)
  rm -rf "$node_dir" && mv "$work/out" "$node_dir"
  log "node binaries v$K8S_VERSION built in $(( $(date +%s) - t0 ))s -> $node_dir"
}

build_etcd() {
  local eb; eb=$(resolved ETCD_BIN "$etcd_dir/etcd")
  if [ -x "$eb" ]; then log "etcd v$ETCD_VERSION: cached ($eb)"; return; fi
  built_any=1
  local t0; t0=$(date +%s)
  local work; work=$(mktemp -d "$CACHE/.build-etcd.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  cat > "$work/go.mod" <<GOMOD
module soracom-esim-operator/etcd-build

go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
GOMOD
  cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  log "etcd v$ETCD_VERSION: resolving modules"
  (cd "$work" && go mod tidy >&2)
  log "compiling etcd"
  mkdir -p "$work/out"
  (cd "$work" && go build -trimpath -ldflags "-s -w" -o out/etcd go.etcd.io/etcd/server/v3)
  rm -rf "$etcd_dir" && mv "$work/out" "$etcd_dir"
  log "etcd v$ETCD_VERSION built in $(( $(date +%s) - t0 ))s -> $etcd_dir"
}

build_helm() {
  local hb; hb=$(resolved HELM_BIN "$helm_dir/helm")
  if [ -x "$hb" ]; then log "helm v$HELM_VERSION: cached ($hb)"; return; fi
  built_any=1
  local t0; t0=$(date +%s)
  local work; work=$(mktemp -d "$CACHE/.build-helm.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  log "helm v$HELM_VERSION: compiling"
  (cd "$work" && GOBIN="$work/out" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" >&2)
  rm -rf "$helm_dir" && mv "$work/out" "$helm_dir"
  log "helm v$HELM_VERSION built in $(( $(date +%s) - t0 ))s -> $helm_dir"
}

case "$want" in
  all) build_etcd; build_kubernetes; build_controller_manager; build_helm ;;
  kubernetes) build_kubernetes ;;
  controller-manager) build_controller_manager ;;
  node) build_node ;;
  etcd) build_etcd ;;
  helm) build_helm ;;
  *) log "unknown component '$want' (all | kubernetes | controller-manager | etcd | helm | node)"; exit 2 ;;
esac

if [ "$built_any" = 0 ]; then
  log "all binaries cached; build skipped (a cold build took ~$(cat "$CACHE/.cold-build-seconds" 2>/dev/null || echo '?')s on this machine)"
else
  took=$(( $(date +%s) - start_all ))
  [ -f "$CACHE/.cold-build-seconds" ] || echo "$took" > "$CACHE/.cold-build-seconds"
  log "build finished in ${took}s"
fi
