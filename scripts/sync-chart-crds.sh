#!/usr/bin/env bash
# Copies the single sources into the Helm chart, which can only read files inside its own folder:
#   crds/*.yaml                    -> charts/soracom-esim-operator/crds/
#   deploy/prometheus/alerts.yaml  -> charts/soracom-esim-operator/files/alerts.yaml
# With --check it changes nothing and exits 1 when the chart's copies have drifted (for CI).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$root/charts/soracom-esim-operator"
mode="${1:-sync}"

# pairs: source destination
pairs=()
for f in "$root"/crds/*.yaml; do pairs+=("$f" "$chart/crds/$(basename "$f")"); done
pairs+=("$root/deploy/prometheus/alerts.yaml" "$chart/files/alerts.yaml")

drift=0
for ((i = 0; i < ${#pairs[@]}; i += 2)); do
  src="${pairs[i]}" dst="${pairs[i + 1]}"
  if cmp -s "$src" "$dst"; then continue; fi
  if [ "$mode" = "--check" ]; then
    echo "drift: ${dst#"$root"/} differs from ${src#"$root"/}" >&2
    drift=1
  else
    mkdir -p "$(dirname "$dst")"
    cp "$src" "$dst"
    echo "synced ${dst#"$root"/}"
  fi
done

# A CRD removed from crds/ must not linger in the chart.
for f in "$chart"/crds/*.yaml; do
  [ -e "$f" ] || continue
  if [ ! -e "$root/crds/$(basename "$f")" ]; then
    if [ "$mode" = "--check" ]; then
      echo "drift: ${f#"$root"/} has no source in crds/" >&2
      drift=1
    else
      rm "$f"
      echo "removed ${f#"$root"/}"
    fi
  fi
done

if [ "$drift" != 0 ]; then
  echo "run scripts/sync-chart-crds.sh to copy the sources into the chart" >&2
  exit 1
fi
