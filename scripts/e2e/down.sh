#!/usr/bin/env bash
# down.sh: tears the e2e cluster down completely, whatever state up.sh or the scenarios left it in: its
# containers and processes by PID, the kubepods cgroups, the network namespace (with the bridges and
# veths in it), the fixed paths kubelet and containerd write (when absent before: up.sh's list) and the
# sysctls kubelet changed. Safe to run twice. scripts/e2e/run.sh then compares the host with before.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/e2e/lib.sh
d="$E2E_DIR"
pids_of_cgroups() { find /sys/fs/cgroup/*/kubepods* -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u; }
netns_pids() { ip netns pids "$E2E_NETNS" 2>/dev/null; }
kill_all() { # signal pids...
  local sig="$1"; shift
  for pid in "$@"; do kill "-$sig" "$pid" 2>/dev/null; done
}

# The pods' processes (in kubepods cgroups), then the node's (node.sh's children, all in the namespace).
for round in 1 2 3 4 5; do
  mapfile -t pods < <(pids_of_cgroups)
  mapfile -t node < <(netns_pids; cat "$d"/pids/* 2>/dev/null)
  [ "${#pods[@]}" -eq 0 ] && [ "${#node[@]}" -eq 0 ] && break
  sig=TERM; [ "$round" -gt 1 ] && sig=KILL
  kill_all "$sig" "${pods[@]}" "${node[@]}"
  sleep "$([ "$round" = 1 ] && echo 2 || echo 1)"
done
left=$( (pids_of_cgroups; netns_pids) | wc -l)
[ "$left" = 0 ] || e2e_log "teardown: $left processes would not die"

# kubepods cgroups, deepest first (an empty cgroup is removed with rmdir).
find /sys/fs/cgroup/*/ -maxdepth 1 -type d -name 'kubepods*' 2>/dev/null | while read -r top; do
  find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null
done
ip netns del "$E2E_NETNS" 2>/dev/null
if [ -f "$d/saved/sysctls" ]; then
  while IFS= read -r line; do sysctl -qw "$line" >/dev/null; done < "$d/saved/sysctls"
fi
# node.sh's mount points (empty directories on the host when they were absent before) and the e2e folder.
if [ -f "$d/saved/absent-paths" ]; then
  while IFS= read -r p; do rm -rf --one-file-system "$p"; done < "$d/saved/absent-paths"
fi
rm -rf --one-file-system "$d"
e2e_log "torn down"
