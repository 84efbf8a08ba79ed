#!/usr/bin/env bash
# CI check of the Helm chart without Node: the chart's copies of crds/ and the alert rules are current,
# and `helm lint --strict` and `helm template` pass for every values file in the chart's ci/ folder.
# (The vitest suite runs the same and much more: test/unit/chart-*.test.ts.)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$root/charts/soracom-esim-operator"
helm="$(bash "$root/test/controlplane/build.sh" --print-env | sed -n 's/^HELM_BIN=//p')"
[ -x "$helm" ] || { echo "helm not found at '$helm': run bash test/controlplane/build.sh helm" >&2; exit 2; }
# helm built from source assumes Kubernetes 1.20 unless told; the chart needs 1.29+.
kube_version="${KUBE_VERSION:-1.36.0}"
# The chart refuses its placeholder image.repository: render with a stand-in registry.
image=(--set image.repository=registry.example.com/soracom-esim-operator)

bash "$root/scripts/sync-chart-crds.sh" --check
for values in "$chart"/ci/*.yaml; do
  name="$(basename "$values")"
  "$helm" lint "$chart" --strict --values "$values" --kube-version "$kube_version" "${image[@]}" >/dev/null
  "$helm" template esim "$chart" --namespace esim-system --values "$values" --kube-version "$kube_version" "${image[@]}" >/dev/null
  echo "ok: $name (helm lint --strict, helm template)"
done
