# Shared by scripts/e2e/*.sh (sourced): the e2e cluster's names, ranges and paths. The whole cluster
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, containerd and the
# pods) lives in the network namespace $E2E_NETNS; the host's links, routes, rules and iptables are never
# touched (scripts/e2e/snapshot.sh proves it).
E2E_NETNS="${E2E_NETNS:-soracom-esim-e2e}"
E2E_DIR="${E2E_DIR:-/var/lib/soracom-esim-e2e}"   # every file the cluster owns: certs, configs, data, logs
E2E_NODE=e2e-node
E2E_NODE_IP=10.213.0.1        # on the empty bridge e2e-node0 (the kernel has no dummy links)
E2E_NODE_CIDR=10.213.0.0/24
E2E_POD_CIDR=10.244.0.0/24    # the CNI bridge cni0 and its host-local range
E2E_SERVICE_CIDR=10.96.0.0/24 # kube-proxy's iptables rules, in the namespace
E2E_APISERVER_IP=10.96.0.1
E2E_SIMULATOR_IP=10.96.0.50   # the simulator Service's fixed ClusterIP (no cluster DNS here)
E2E_SOCK="$E2E_DIR/containerd/containerd.sock"
E2E_SANDBOX_IMAGE=registry.k8s.io/pause:3.6   # containerd 1.6's default sandbox image name
E2E_IMAGES=(localhost/soracom-esim-operator:test localhost/soracom-esim-simulator:test)
# Paths kubelet, containerd and CNI write outside their configured roots (field notes), removed by
# teardown when they did not exist before the run.
E2E_FIXED_PATHS=(/var/lib/kubelet /run/containerd /var/lib/containerd /opt/containerd /var/log/pods
  /var/log/containers /var/lib/cni /run/netns/"$E2E_NETNS" /etc/kubernetes /var/run/kubernetes "$E2E_DIR")
# The ones node.sh covers with a tmpfs of its own mount namespace (so nothing written there reaches the host).
E2E_MOUNTED_PATHS=(/run/netns /var/lib/cni /run/containerd /var/lib/kubelet /opt/containerd /var/log/pods /var/log/containers)
# Host-wide sysctls kubelet sets at start (protectKernelDefaults: false); teardown puts them back.
E2E_KUBELET_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

e2e_log() { printf '[e2e %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
e2e_fail() { e2e_log "FAILED: $*"; exit 1; }
# in_ns runs a command in the cluster's network namespace only (same mount namespace as the host, so
# kubelet's volume mounts are visible to containerd, and teardown can see and remove them).
in_ns() { nsenter --net="/run/netns/$E2E_NETNS" -- "$@"; }
e2e_bins() {
  eval "$(bash test/controlplane/build.sh --print-env)"
  NODE_BIN_DIR=$(bash test/controlplane/build.sh --node-dir)
  export KUBE_APISERVER_BIN ETCD_BIN KUBECTL_BIN HELM_BIN KUBE_CONTROLLER_MANAGER_BIN NODE_BIN_DIR
}
