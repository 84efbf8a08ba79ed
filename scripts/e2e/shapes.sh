#!/usr/bin/env bash
# shapes.sh [vitest args]: every values shape docs/install.md and the chart's ci/ files document, installed
# from the chart on the e2e cluster and run under the chart's own ServiceAccount and RBAC (test/e2e/shapes.test.ts),
# from inside the cluster's network namespace as scenarios.sh does. The table of shapes goes to the log and
# to .e2e/shapes.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/e2e/lib.sh
e2e_bins
export E2E_KUBECONFIG="$E2E_DIR/admin.kubeconfig" E2E_SOCK E2E_SIMULATOR_URL="http://$E2E_SIMULATOR_IP:8080"
export E2E_OPERATOR_IMAGE="${E2E_IMAGES[0]}" E2E_SHAPES_RESULTS="${E2E_SHAPES_RESULTS:-$PWD/.e2e/shapes.json}"
mkdir -p "$(dirname "$E2E_SHAPES_RESULTS")"
in_ns npx vitest run --config test/e2e/shapes.vitest.config.ts "$@"
