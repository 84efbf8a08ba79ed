#!/usr/bin/env bash
# make demo-stop: stops what `make demo` started (controller, simulator, control plane), in that
# order, and removes their state; logs stay in .demo/ for a look afterwards (make clean removes them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/demo-lib.sh

for c in "${COMPONENTS[@]}"; do stop_component "$c"; done
# On SIGTERM the control plane stops etcd and kube-apiserver itself; if it had to be killed, they
# are still running in their own process groups: stop them by their pid files.
for dir in "$DEMO_DIR"/controlplane/soracom-esim-cp-*; do
  for file in "$dir/kube-apiserver.pid" "$dir/etcd.pid"; do
    pid=$(cat "$file" 2>/dev/null) || continue
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$(basename "$dir")"; then
      echo "demo: killing leftover $(basename "$file" .pid) (pid $pid)"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  done
done
rm -rf "$DEMO_DIR/controlplane" "$DEMO_DIR/kubeconfig" "$DEMO_DIR/controlplane.json" "$DEMO_DIR/simulator-state.json"
echo "demo: stopped (logs kept in $DEMO_DIR/*.log)"
