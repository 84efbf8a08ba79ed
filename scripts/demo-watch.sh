#!/usr/bin/env bash
# demo-watch.sh <kubectl> <seconds>: shows the demo's orders and profiles as they change, until every
# EsimProfileOrder is Ready (or, with confirmation Manual, waits for approval) or the time is up.
set -euo pipefail
kubectl="$1" seconds="$2"
deadline=$((SECONDS + seconds))
last=""
echo "demo: watching esimprofileorders and esimprofiles for up to ${seconds}s (Ctrl-C stops watching, not the demo)"
while [ "$SECONDS" -lt "$deadline" ]; do
  now=$("$kubectl" get esimprofileorders,esimprofiles -A 2>&1 || true)
  key=$(sed -E 's/ +[0-9]+[smhd]([0-9]+[smhd])?$//' <<<"$now") # a new table only when more than AGE changed
  if [ "$key" != "$last" ]; then
    printf '\n--- %s\n%s\n' "$(date +%T)" "$now"
    last="$key"
  fi
  # One line per order: name, confirmation, quantity, Ready status.
  states=$("$kubectl" get esimprofileorders -A -o jsonpath='{range .items[*]}{.metadata.name} {.spec.confirmation} {.spec.quantity} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null || true)
  if [ -n "$states" ] && awk '$4 != "True" && $2 != "Manual" { waiting = 1 } END { exit waiting }' <<<"$states"; then
    echo "demo: every EsimProfileOrder is Ready or waiting for approval"
    awk -v q="'" '$4 != "True" && $2 == "Manual" {
      print "  approve " $1 ": kubectl patch esimprofileorder " $1 " --type merge -p " q "{\"spec\":{\"approvedQuantity\":" $3 "}}" q
    }' <<<"$states"
    exit 0
  fi
  sleep 2
done
echo "demo: not every EsimProfileOrder is Ready after ${seconds}s: kubectl describe esimprofileorders, and .demo/controller.log"
