#!/usr/bin/env bash
# scenarios.sh [vitest args]: the e2e scenarios (test/e2e) against the running e2e cluster, run inside its
# network namespace (the simulator is reached at its ClusterIP through kube-proxy's rules there).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/e2e/lib.sh
e2e_bins
[ -f dist/plugin/cli.js ] || npx tsc -p tsconfig.json
export E2E_KUBECONFIG="$E2E_DIR/admin.kubeconfig" E2E_SOCK E2E_SIMULATOR_URL="http://$E2E_SIMULATOR_IP:8080"
export E2E_RESULTS="${E2E_RESULTS:-$E2E_DIR/results.json}"
in_ns npx vitest run --config test/e2e/vitest.config.ts "$@"
