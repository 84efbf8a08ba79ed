#!/usr/bin/env bash
# netns-check.sh: the cluster's network namespace holds only what up.sh and CNI put there (loopback, the
# node bridge, the CNI bridge and the pods' veths), and routes only to the cluster's own ranges: nothing
# in it can reach an address outside loopback and those ranges.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/e2e/lib.sh
bad=0
links=$(in_ns ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//')
for l in $links; do
  case "$l" in lo | e2e-node0 | cni0 | veth*) ;; *) e2e_log "netns-check: unexpected link $l"; bad=1 ;; esac
done
routes=$(in_ns ip -4 route show table main; in_ns ip -6 route show table main | grep -v '^fe80::/64' || true)
while IFS= read -r r; do
  [ -z "$r" ] && continue
  case "$r" in "$E2E_NODE_CIDR "* | "$E2E_POD_CIDR "* | "$E2E_SERVICE_CIDR "*) ;; *) e2e_log "netns-check: route outside the cluster's ranges: $r"; bad=1 ;; esac
done <<< "$routes"
[ "$(in_ns ip rule | wc -l)" = 3 ] || { e2e_log "netns-check: extra ip rules"; bad=1; }
[ "$bad" = 0 ] || exit 1
e2e_log "netns-check: links $(echo $links | tr ' ' ,); routes only to $E2E_NODE_CIDR, $E2E_POD_CIDR, $E2E_SERVICE_CIDR"
