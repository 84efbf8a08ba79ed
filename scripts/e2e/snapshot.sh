#!/usr/bin/env bash
# snapshot.sh: prints what the e2e cluster could leave behind on the host, one line per fact: links,
# addresses, routes, rules, network namespaces, iptables, mounts, sysctls, the fixed paths kubelet and
# containerd write, cgroups and the cluster's processes. run.sh takes one before and one after the run
# and fails on any difference. Other work on this machine (podman containers of other tests: veths on
# cni-podman0, their netns, CNI chains and cgroups) is filtered out: it comes and goes on its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/e2e/lib.sh

# podman's live containers: their network namespaces and addresses, to leave out.
podman_netns=$( (podman ps -q 2>/dev/null | xargs -r podman inspect --format '{{.NetworkSettings.SandboxKey}}' 2>/dev/null) |
  sed -n 's#^/run/netns/##p' | paste -sd'|' -)
podman_re="cni-podman0|10\.88\.|libpod|/var/lib/containers|/run/containers|CNI-[0-9a-f]{20,}|id: \"[0-9a-f]{20,}|${podman_netns:-^\$}"
keep() { grep -Ev "$podman_re" || true; }

section() { printf '## %s\n' "$1"; }
section links; ip -o link show | sed -E 's/^[0-9]+: //; s/ qlen [0-9]+//' | grep -Ev '^veth' | keep
section addresses; ip -o addr show | sed -E 's/^[0-9]+: //; s/valid_lft.*//' | grep -Ev '^veth' | keep
section routes; { ip route show table all; ip -6 route show table all; } | grep -Ev '^(local|multicast|anycast) fe80|dev veth' | keep
section rules; { ip rule; ip -6 rule; } | keep
section netns; ip netns list | awk '{print $1}' | keep | sort
section iptables
for t in iptables-save ip6tables-save; do { "$t" 2>/dev/null || echo "$t: unavailable"; } | sed -E '/^#/d; s/\[[0-9]+:[0-9]+\]//' | keep; done
section mounts; awk '{print $5, $9, $10}' /proc/self/mountinfo | keep | sort
section sysctls
sysctl -a 2>/dev/null | grep -E '^(kernel|vm|net)\.' |
  grep -Ev '^kernel\.(random|ns_last_pid|pty\.nr|sched_domain|perf_event|keys\.(maxkeys|maxbytes) )|^vm\.(stat|nr_)|^net\.netfilter\.nf_conntrack_count|^kernel\.(core_|tainted)|^net\.ipv[46]\.conf\.veth|^net\.ipv[46]\.neigh\.veth' | sort
section "fixed paths"
for p in "${E2E_FIXED_PATHS[@]}" /run/netns; do [ -e "$p" ] && echo "exists $p" || echo "absent $p"; done
section cgroups; find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d 2>/dev/null | keep | sort
section processes
# The cluster's own programs (other tests run their own etcd and kube-apiserver on the host: those are
# told apart by the e2e directory in their command line).
procs=$(ps -eo pid=,comm=,args=)
printf "%s\n" "$procs" | awk -v d="$E2E_DIR" '$2 ~ /^(containerd|containerd-shim|kubelet|kube-proxy|kube-scheduler|pause)/ || index($0, d) {print}'
