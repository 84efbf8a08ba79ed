#!/usr/bin/env bash
# CI check of the Prometheus alerts without Node: `promtool check rules` and `promtool test rules`
# (Debian's prometheus package carries promtool). test/unit/alerts-promtool.test.ts runs the same.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v promtool >/dev/null || { echo "promtool not found: apt-get install -y prometheus" >&2; exit 2; }
cd "$root/deploy/prometheus"
promtool check rules alerts.yaml
promtool test rules alerts.test.yaml
