#!/usr/bin/env bash
# up.sh: a single-node cluster in the network namespace $E2E_NETNS (scripts/e2e/lib.sh): certificates,
# configs, the images saved from podman, then node.sh's processes, the node Ready and the API's Service
# reachable. Nothing outside $E2E_DIR, the namespace and node.sh's private mounts is written, except
# kubelet's host-wide sysctls (saved here, put back by down.sh) and the kubepods cgroups (removed by down.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/e2e/lib.sh
e2e_bins
d="$E2E_DIR"
[ ! -e "$d" ] || e2e_fail "$d exists: a previous run was not torn down (bash scripts/e2e/down.sh)"
ip netns list | grep -qw "$E2E_NETNS" && e2e_fail "network namespace $E2E_NETNS exists: bash scripts/e2e/down.sh"
mkdir -p "$d"/{pki,logs,pids,images,containerd,cni/net.d,cni/ipam,kubelet/root,etcd,kcm-certs,saved}
for s in "${E2E_KUBELET_SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")"; done > "$d/saved/sysctls"
t0=$(date +%s)
# node.sh mounts tmpfs on these; the ones absent now are created empty and removed by down.sh.
for p in "${E2E_MOUNTED_PATHS[@]}"; do [ -e "$p" ] || { echo "$p" >> "$d/saved/absent-paths"; mkdir -p "$p"; }; done

# The network: the namespace, its loopback, and the node's address on an empty bridge. Pods get veths on
# the CNI bridge cni0; no link leaves the namespace, so no route can lead out of it.
ip netns add "$E2E_NETNS"
in_ns ip link set lo up
in_ns ip link add e2e-node0 type bridge
in_ns ip addr add "$E2E_NODE_IP/24" dev e2e-node0
in_ns ip link set e2e-node0 up
# Services are reached through kube-proxy's DNAT, after a route lookup: their range needs a route too.
in_ns ip route add "$E2E_SERVICE_CIDR" dev e2e-node0 src "$E2E_NODE_IP"

# Certificates (CA, apiserver, apiserver -> kubelet client), service-account keys, static tokens.
pki="$d/pki"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key "$pki/ca.key"
openssl req -x509 -new -key "$pki/ca.key" -subj /CN=soracom-esim-e2e-ca -days 2 -out "$pki/ca.crt"
cert() { # name subject extensions
  key "$pki/$1.key"
  openssl req -new -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf '%s\n' "$3") -out "$pki/$1.crt" 2>/dev/null
}
cert apiserver /CN=kube-apiserver "subjectAltName=IP:127.0.0.1,IP:$E2E_APISERVER_IP,IP:$E2E_NODE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
cert kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
tok() { openssl rand -hex 16; }
admin=$(tok) node=$(tok) proxy=$(tok) sched=$(tok)
cat > "$pki/tokens.csv" <<CSV
$admin,e2e-admin,e2e-admin,"system:masters"
$node,system:node:$E2E_NODE,system:node:$E2E_NODE,"system:nodes"
$proxy,system:kube-proxy,system:kube-proxy
$sched,system:kube-scheduler,system:kube-scheduler
CSV
kubeconfig() { # file token
  cat > "$1" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: "https://127.0.0.1:6443", certificate-authority: "$pki/ca.crt"}}]
users: [{name: e2e, user: {token: "$2"}}]
contexts: [{name: e2e, context: {cluster: e2e, user: e2e}}]
current-context: e2e
YAML
}
kubeconfig "$d/admin.kubeconfig" "$admin"
kubeconfig "$d/kubelet.kubeconfig" "$node"
kubeconfig "$d/kube-proxy.kubeconfig" "$proxy"
kubeconfig "$d/scheduler.kubeconfig" "$sched"

# containerd (field notes: runc, cgroupfs, restrict_oom_score_adj, no hugetlb), CNI, kubelet, kube-proxy.
cat > "$d/containerd/config.toml" <<TOML
version = 2
root = "$d/containerd/root"
state = "$d/containerd/state"
[grpc]
  address = "$E2E_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$E2E_SANDBOX_IMAGE"
  restrict_oom_score_adj = true
  disable_hugetlb_controller = true
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$d/cni/net.d"
TOML
cat > "$d/cni/net.d/10-e2e.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "e2e", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$d/cni/ipam", "ranges": [[{"subnet": "$E2E_POD_CIDR"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}}]}
JSON
: > "$d/resolv.conf"
cat > "$d/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$E2E_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: $E2E_NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: "$pki/ca.crt"}}
authorization: {mode: Webhook}
resolvConf: "$d/resolv.conf"
podLogsDir: /var/log/pods
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 30
YAML
cat > "$d/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$d/kube-proxy.kubeconfig"}
mode: iptables
hostnameOverride: $E2E_NODE
bindAddress: $E2E_NODE_IP
clusterCIDR: $E2E_POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
iptables: {masqueradeAll: true}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML

# Images: the pause program as containerd's sandbox image, the operator's two, saved from podman.
if ! podman image exists "$E2E_SANDBOX_IMAGE"; then
  c=$(buildah from scratch)
  buildah copy "$c" "$NODE_BIN_DIR/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --user 65535:65535 "$c"
  buildah commit -q "$c" "$E2E_SANDBOX_IMAGE" >/dev/null
  buildah rm "$c" >/dev/null
fi
i=0
for image in "$E2E_SANDBOX_IMAGE" "${E2E_IMAGES[@]}"; do
  podman image exists "$image" || e2e_fail "$image is missing: bash test/image/build.sh"
  podman save --format docker-archive -o "$d/images/$i.tar" "$image" 2>/dev/null
  i=$((i + 1))
done

setsid nsenter --net="/run/netns/$E2E_NETNS" -- unshare --mount --propagation slave \
  bash scripts/e2e/node.sh > "$d/logs/node.log" 2>&1 < /dev/null &
echo $! > "$d/pids/node.sh"
kc() { in_ns "$KUBECTL_BIN" --kubeconfig "$d/admin.kubeconfig" "$@"; }
for _ in $(seq 120); do [ -e "$d/pids/.started" ] && break; kill -0 "$(cat "$d/pids/node.sh")" 2>/dev/null || break; sleep 1; done
[ -e "$d/pids/.started" ] || { tail -n 30 "$d/logs/node.log" >&2; e2e_fail "the node's processes did not start ($d/logs)"; }
for _ in $(seq 60); do kc get node "$E2E_NODE" >/dev/null 2>&1 && break; sleep 1; done
kc wait node/"$E2E_NODE" --for=condition=Ready --timeout=120s >&2 ||
  { tail -n 30 "$d/logs/kubelet.log" >&2; e2e_fail "node $E2E_NODE is not Ready"; }
kc -n kube-system wait sa/default --for=jsonpath='{.metadata.name}'=default --timeout=60s >/dev/null
e2e_log "cluster up in $(($(date +%s) - t0))s (node $E2E_NODE Ready; logs in $d/logs)"
