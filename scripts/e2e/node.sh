#!/usr/bin/env bash
# node.sh: the cluster's processes, started by up.sh in the e2e network namespace and in a mount namespace
# of their own (slave: the host's mounts show here, nothing mounted here shows on the host). kubelet and
# containerd share it, so volumes kubelet mounts are what containerd bind-mounts into containers; when the
# last process ends, every mount made here goes with it. Each process's PID goes to $E2E_DIR/pids/.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/e2e/lib.sh
e2e_bins
d="$E2E_DIR"

# A sysfs of this network namespace (kubelet and CNI read /sys/class/net), with the host's cgroup tree
# carried over; the fixed paths kubelet, containerd and CNI write become tmpfs that vanish with this namespace.
mkdir -p "$d/run/cgroup"
mount --rbind /sys/fs/cgroup "$d/run/cgroup"
mount -t sysfs sysfs /sys
mount --rbind "$d/run/cgroup" /sys/fs/cgroup
umount -l "$d/run/cgroup"
for p in "${E2E_MOUNTED_PATHS[@]}"; do
  mount -t tmpfs -o mode=0755 e2e-tmpfs "$p"
done

start() { # name command...: in the background, its log in $d/logs/<name>.log
  local name="$1"; shift
  "$@" > "$d/logs/$name.log" 2>&1 &
  echo $! > "$d/pids/$name"
}
wait_for() { # what command...: up to 60 s
  local what="$1"; shift
  for _ in $(seq 600); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  e2e_log "$what did not come up"; return 1
}
kc() { "$KUBECTL_BIN" --kubeconfig "$d/admin.kubeconfig" "$@"; }

start etcd "$ETCD_BIN" --name e2e --data-dir "$d/etcd" --unsafe-no-fsync \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster e2e=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381
start kube-apiserver "$KUBE_APISERVER_BIN" --etcd-servers=http://127.0.0.1:2379 \
  --bind-address=0.0.0.0 --secure-port=6443 --advertise-address="$E2E_NODE_IP" \
  --service-cluster-ip-range="$E2E_SERVICE_CIDR" --allow-privileged=false \
  --tls-cert-file="$d/pki/apiserver.crt" --tls-private-key-file="$d/pki/apiserver.key" \
  --client-ca-file="$d/pki/ca.crt" --token-auth-file="$d/pki/tokens.csv" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --kubelet-client-certificate="$d/pki/kubelet-client.crt" --kubelet-client-key="$d/pki/kubelet-client.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$d/pki/sa.pub" --service-account-signing-key-file="$d/pki/sa.key" \
  --shutdown-watch-termination-grace-period=2s
wait_for kube-apiserver kc get --raw /readyz
start kube-controller-manager "$KUBE_CONTROLLER_MANAGER_BIN" --kubeconfig="$d/admin.kubeconfig" \
  --authentication-kubeconfig="$d/admin.kubeconfig" --authorization-kubeconfig="$d/admin.kubeconfig" \
  --bind-address=127.0.0.1 --cert-dir="$d/kcm-certs" --leader-elect=false \
  --service-account-private-key-file="$d/pki/sa.key" --root-ca-file="$d/pki/ca.crt" \
  --use-service-account-credentials=true --controllers='*' --allocate-node-cidrs=false
start kube-scheduler "$NODE_BIN_DIR/kube-scheduler" --kubeconfig="$d/scheduler.kubeconfig" \
  --authentication-kubeconfig="$d/scheduler.kubeconfig" --authorization-kubeconfig="$d/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false
start containerd containerd --config "$d/containerd/config.toml"
wait_for containerd ctr --address "$E2E_SOCK" version
for image in "$d"/images/*.tar; do
  ctr --address "$E2E_SOCK" -n k8s.io images import "$image" >&2
done
start kubelet "$NODE_BIN_DIR/kubelet" --config="$d/kubelet/config.yaml" --kubeconfig="$d/kubelet.kubeconfig" \
  --root-dir="$d/kubelet/root" --hostname-override="$E2E_NODE" --node-ip="$E2E_NODE_IP"
start kube-proxy "$NODE_BIN_DIR/kube-proxy" --config="$d/kube-proxy.yaml"
echo started > "$d/pids/.started"
wait
