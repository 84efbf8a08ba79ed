#!/usr/bin/env bash
# make e2e: the operator as users run it, on a real single-node cluster started here without Docker (as
# root): packages checked (and installed with apt when missing), binaries built or taken from the cache,
# the images built with podman, a snapshot of the host, the cluster (scripts/e2e/up.sh) in a network
# namespace of its own, the chart installed (install.sh), the five scenarios (test/e2e), then a complete
# teardown (down.sh) and a second snapshot that must equal the first. E2E_KEEP=1 leaves the cluster up
# (then `bash scripts/e2e/down.sh` removes it). One run at a time (a lock on this script).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/e2e/lib.sh
[ "$(id -u)" = 0 ] || e2e_fail "make e2e runs as root (containerd, kubelet and network namespaces need it)"
exec 9<"$0"
flock -n 9 || e2e_fail "another make e2e is running (one at a time)"
t_start=$(date +%s)
took() { echo "$(($(date +%s) - $1))s"; }

# Debian packages: containerd (and its ctr), runc, the CNI plugins, iptables and conntrack for kube-proxy.
missing=()
command -v containerd >/dev/null && command -v ctr >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null || missing+=(iptables)
command -v conntrack >/dev/null || missing+=(conntrack)
command -v podman >/dev/null && command -v buildah >/dev/null || missing+=(podman buildah)
command -v openssl >/dev/null || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  e2e_log "apt-get install ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

t=$(date +%s)
bash test/controlplane/build.sh all
bash test/controlplane/build.sh node
e2e_log "binaries ready in $(took "$t")"
t=$(date +%s)
bash test/image/build.sh
e2e_log "images ready in $(took "$t")"
[ -f dist/plugin/cli.js ] || npx tsc -p tsconfig.json

before=$(mktemp) after=$(mktemp)
bash scripts/e2e/snapshot.sh > "$before"
finish() {
  local rc=$? t
  if [ "${E2E_KEEP:-0}" = 1 ]; then e2e_log "E2E_KEEP=1: cluster left up; bash scripts/e2e/down.sh removes it"; exit "$rc"; fi
  [ -e "/run/netns/$E2E_NETNS" ] && { bash scripts/e2e/netns-check.sh || rc=1; }
  t=$(date +%s)
  bash scripts/e2e/down.sh
  bash scripts/e2e/snapshot.sh > "$after"
  if diff -u "$before" "$after" >&2; then
    e2e_log "teardown in $(took "$t"): the host is as it was (links, addresses, routes, rules, netns, iptables, mounts, sysctls, paths, cgroups, processes)"
  else
    e2e_log "FAILED: the host differs from before the run (above)"; rc=1
  fi
  rm -f "$before" "$after"
  e2e_log "make e2e: $([ "$rc" = 0 ] && echo passed || echo FAILED) in $(took "$t_start")"
  exit "$rc"
}
trap finish EXIT
t=$(date +%s)
bash scripts/e2e/up.sh
bash scripts/e2e/install.sh
e2e_log "cluster and chart ready in $(took "$t")"
t=$(date +%s)
mkdir -p .e2e
E2E_RESULTS="$PWD/.e2e/results.json" bash scripts/e2e/scenarios.sh
e2e_log "scenarios passed in $(took "$t") (counts: .e2e/results.json)"
t=$(date +%s); bash scripts/e2e/shapes.sh; e2e_log "shapes passed in $(took "$t") (table: .e2e/shapes.json)"
