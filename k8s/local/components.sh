#!/usr/bin/env bash
# The configuration and command line of each cluster component. Sourced by cluster.sh.

start_etcd() {
  start_daemon etcd "$K8S_BIN/etcd" --name="$NODE_NAME" --data-dir="$K8S_STATE/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="$NODE_NAME=http://127.0.0.1:$ETCD_PEER_PORT" \
    --listen-metrics-urls='' --log-level=warn
  wait_for 30 "etcd to be healthy" "$K8S_LOGS/etcd.log" \
    curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"
}

# Bound to every address: pods reach the kubernetes Service (the node address), the host uses 127.0.0.1.
start_apiserver() {
  local ip=$1
  start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-address="$ip" --bind-address=0.0.0.0 --secure-port="$API_PORT" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --authorization-mode=Node,RBAC \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --cert-dir="$K8S_STATE/apiserver" --profiling=false
  wait_for 60 "kube-apiserver to be ready" "$K8S_LOGS/kube-apiserver.log" \
    curl -fsS --cacert "$PKI/ca.crt" "https://127.0.0.1:$API_PORT/readyz"
}

start_controllers() {
  start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig="$PKI/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$PKI/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$PKI/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --leader-elect=false \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --use-service-account-credentials=true --service-cluster-ip-range="$SERVICE_CIDR" --profiling=false
  start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig="$PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig="$PKI/scheduler.kubeconfig" \
    --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --leader-elect=false --profiling=false
  wait_for 60 "kube-controller-manager to be healthy" "$K8S_LOGS/kube-controller-manager.log" \
    curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz"
  wait_for 60 "kube-scheduler to be healthy" "$K8S_LOGS/kube-scheduler.log" \
    curl -fsSk "https://127.0.0.1:$SCHEDULER_PORT/healthz"
}

# containerd with its own root, state and socket under .k8s. restrict_oom_score_adj: the kubelet asks
# for negative OOM scores, which need CAP_SYS_RESOURCE, and a VM may not grant it (runc then fails
# with "can't get final child's PID from pipe"); containerd clamps them to its own score instead.
start_containerd() {
  local dir="$K8S_STATE/containerd"
  mkdir -p "$dir" "$K8S_STATE/cni/net.d"
  write_if_changed "$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "$CRI_STREAM_PORT"
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_STATE/cni/net.d"
TOML
  # The pod network: one bridge, addresses from host-local (state kept under .k8s), portmap for hostPorts.
  write_if_changed "$K8S_STATE/cni/net.d/10-$CNI_NETWORK.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge", "bridge": "$CNI_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$K8S_STATE/cni/ipam",
                "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
  start_daemon containerd /usr/bin/containerd --config "$dir/config.toml"
  wait_for 30 "containerd to answer" "$K8S_LOGS/containerd.log" ctr_local version
}

ctr_local() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

start_kubelet() {
  local ip=$1 dir="$K8S_STATE/kubelet"
  mkdir -p "$dir/root" "$K8S_STATE/pod-logs"
  write_if_changed "$dir/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $PKI/ca.crt }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# PID 1 is not systemd here, and the host has cgroup v1 (kubelet 1.35 refuses it by default).
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podLogsDir: $K8S_STATE/pod-logs
serializeImagePulls: false
# A development machine's disk is not the cluster's alone: evict only when it is nearly full.
evictionHard: { memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2% }
imageGCHighThresholdPercent: 100
YAML
  start_daemon kubelet "$K8S_BIN/kubelet" --config="$dir/config.yaml" \
    --kubeconfig="$PKI/kubelet.kubeconfig" --root-dir="$dir/root" --cert-dir="$dir/pki" \
    --hostname-override="$NODE_NAME" --node-ip="$ip"
  wait_for 90 "node $NODE_NAME to be Ready" "$K8S_LOGS/kubelet.log" \
    kubectl_local wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
}

start_kube_proxy() {
  local dir="$K8S_STATE/kube-proxy"
  mkdir -p "$dir"
  write_if_changed "$dir/config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $PKI/kube-proxy.kubeconfig }
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
iptables: { masqueradeAll: true, localhostNodePorts: false }
# Zeros: kube-proxy leaves the host's conntrack sysctls alone.
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
YAML
  start_daemon kube-proxy "$K8S_BIN/kube-proxy" --config="$dir/config.yaml"
  wait_for 30 "kube-proxy to be healthy" "$K8S_LOGS/kube-proxy.log" \
    curl -fsS "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz"
}

# CoreDNS runs on the host, on the node address, behind the kube-dns Service (an EndpointSlice of
# its own points at it): pods cannot reach a server on the host's loopback.
start_coredns() {
  local ip=$1 dir="$K8S_STATE/coredns"
  mkdir -p "$dir"
  write_if_changed "$dir/Corefile" <<COREFILE
.:$COREDNS_PORT {
    bind $ip
    errors
    health 127.0.0.1:$COREDNS_HEALTH_PORT
    ready 127.0.0.1:$COREDNS_READY_PORT
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $PKI/coredns.kubeconfig
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
    loop
    loadbalance
}
COREFILE
  kubectl_local apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:coredns" }
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns" }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns" }]
---
apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  clusterIP: $DNS_SERVICE_IP
  ports:
    - { name: dns, port: 53, targetPort: $COREDNS_PORT, protocol: UDP }
    - { name: dns-tcp, port: 53, targetPort: $COREDNS_PORT, protocol: TCP }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels: { kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: kos-local }
addressType: IPv4
endpoints: [{ addresses: ["$ip"], conditions: { ready: true } }]
ports:
  - { name: dns, port: $COREDNS_PORT, protocol: UDP }
  - { name: dns-tcp, port: $COREDNS_PORT, protocol: TCP }
YAML
  start_daemon coredns "$K8S_BIN/coredns" -conf "$dir/Corefile"
  wait_for 30 "CoreDNS to be ready" "$K8S_LOGS/coredns.log" \
    curl -fsS "http://127.0.0.1:$COREDNS_READY_PORT/ready"
  wait_for 30 "cluster DNS (kubernetes.default via $DNS_SERVICE_IP) to answer" "$K8S_LOGS/coredns.log" \
    dns_answers kubernetes.default.svc.cluster.local "$API_SERVICE_IP"
}

# Resolves a name through the kube-dns Service, as a pod would (kube-proxy routes the ClusterIP).
dns_answers() { # name expected_ip
  node -e '
    const { Resolver } = require("node:dns").promises;
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([process.argv[1]]);
    r.resolve4(process.argv[2]).then((a) => process.exit(a.includes(process.argv[3]) ? 0 : 1), () => process.exit(1));
  ' "$DNS_SERVICE_IP" "$1" "$2"
}
