#!/usr/bin/env bash
# demo-examples.sh <kubectl> <simulator-url> <operator-namespace>: applies examples/*.yaml to the demo cluster, adapted to the
# simulator: the credentials Secret gets the simulator's keys instead of the example's placeholders, and
# the SIM that adopt-existing-sim.yaml adopts is created in the simulator first (it exists in a real
# account, not in a fresh simulator).
set -euo pipefail
kubectl="$1" sim="$2" ns="${3:-default}"
shopt -s nullglob

"$kubectl" create secret generic soracom-credentials --from-literal=authKeyId=keyId-simulator \
  --from-literal=authKey=secret-simulator --from-literal=endpoint="$sim" --dry-run=client -o yaml |
  "$kubectl" apply -n "$ns" -f -
# The account examples/soracom-account.yaml describes: its credentials in the operator's namespace, that
# namespace (where the demo applies the examples) labelled as its selector wants, the simulator as endpoint.
"$kubectl" create secret generic soracom-logistics --from-literal=authKeyId=keyId-simulator \
  --from-literal=authKey=secret-simulator --dry-run=client -o yaml | "$kubectl" apply -n "$ns" -f -
"$kubectl" label namespace "$ns" soracom.example/team=logistics --overwrite >/dev/null
for f in examples/*.yaml; do
  case "$f" in
    examples/credentials-secret.yaml) continue ;;
    examples/soracom-account.yaml)
      sed "s|^  coverage: g|  endpoint: $sim|" "$f" | "$kubectl" apply -f -
      continue
      ;;
    examples/adopt-existing-sim.yaml)
      iccid=$(sed -n 's/^ *iccid: *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' "$f" | head -n1)
      [ -z "$iccid" ] || curl -fsS -XPOST "$sim/_sim/sims" -H 'content-type: application/json' \
        -d "{\"iccid\":\"$iccid\"}" >/dev/null
      ;;
  esac
  "$kubectl" apply -n "$ns" -f "$f"
done
