#!/usr/bin/env bash
# demo-watch.sh <kubectl> <seconds>: shows the demo's orders and profiles as they change, until every
# EsimProfileOrder is Ready (or, with confirmation Manual, waits for approval) and every EsimProfile is
# Ready too, or the time is up. An order is Ready once its EsimProfiles exist; each profile is Ready once
# its SIM is found and in its declared state, which can take a little longer: the demo waits for both.
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
  # One line per profile: name, Ready status (empty while the controller has not looked at it yet).
  profiles=$("$kubectl" get esimprofiles -A -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null || true)
  total=$(grep -c . <<<"$profiles" || true)
  unready=$(awk '$2 != "True"' <<<"$profiles" | grep -c . || true)
  if [ -n "$states" ] && [ "$unready" -eq 0 ] &&
    awk '$4 != "True" && $2 != "Manual" { waiting = 1 } END { exit waiting }' <<<"$states"; then
    echo "demo: every EsimProfileOrder is Ready or waiting for approval, and all ${total} EsimProfiles are Ready"
    awk -v q="'" '$4 != "True" && $2 == "Manual" {
      print "  approve " $1 ": kubectl patch esimprofileorder " $1 " --type merge -p " q "{\"spec\":{\"approvedQuantity\":" $3 "}}" q
    }' <<<"$states"
    exit 0
  fi
  sleep 2
done
echo "demo: after ${seconds}s, not everything is Ready (${unready:-?} of ${total:-?} EsimProfiles are not): kubectl describe esimprofileorders,esimprofiles, and .demo/controller.log"
