#!/usr/bin/env bash
# The local cluster's certificates and kubeconfigs, made once with openssl into .k8s/pki: one CA,
# the apiserver's serving certificate, a client certificate per component (its user and group are
# what RBAC authorizes), the kubelet's serving certificate and the service-account key pair.
# Sourced by cluster.sh.

# cert name subject [san]: a key and a certificate signed by the CA, for a client or a server.
issue_cert() {
  local name=$1 subject=$2 san=${3:-}
  [ -s "$PKI/$name.crt" ] && return 0
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  local ext="$PKI/$name.ext"
  if [ -n "$san" ]; then
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$san" >"$ext"
  else
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$ext"
  fi
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

# kubeconfig name cert: a kubeconfig for one component's client certificate.
write_kubeconfig() {
  local file=$1 cert=$2 server=${3:-https://127.0.0.1:$API_PORT}
  cat >"$file" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: kos-local
    cluster:
      server: $server
      certificate-authority: $PKI/ca.crt
users:
  - name: $cert
    user:
      client-certificate: $PKI/$cert.crt
      client-key: $PKI/$cert.key
contexts:
  - name: kos-local
    context: { cluster: kos-local, user: $cert }
current-context: kos-local
YAML
}

ensure_pki() {
  local ip=$1
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  # A node address that changed (a new VM) invalidates the serving certificates.
  if [ -s "$PKI/node-ip" ] && [ "$(cat "$PKI/node-ip")" != "$ip" ]; then
    klog "the node address changed ($(cat "$PKI/node-ip") -> $ip): new certificates"
    rm -f "$PKI"/*
  fi
  echo "$ip" >"$PKI/node-ip"
  if [ ! -s "$PKI/ca.crt" ]; then
    openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=kos-local-ca" -days 365 -sha256 -out "$PKI/ca.crt" 2>/dev/null
  fi
  [ -s "$PKI/sa.key" ] || {
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  }
  issue_cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:$ip,IP:$API_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  issue_cert admin "/O=system:masters/CN=kos-local-admin"
  issue_cert controller-manager "/CN=system:kube-controller-manager"
  issue_cert scheduler "/CN=system:kube-scheduler"
  issue_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  issue_cert kubelet-serving "/CN=$NODE_NAME" "IP:$ip,DNS:$NODE_NAME"
  issue_cert kube-proxy "/CN=system:kube-proxy"
  issue_cert coredns "/CN=system:coredns"
  write_kubeconfig "$KUBECONFIG_FILE" admin
  write_kubeconfig "$PKI/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$PKI/scheduler.kubeconfig" scheduler
  write_kubeconfig "$PKI/kubelet.kubeconfig" kubelet
  write_kubeconfig "$PKI/kube-proxy.kubeconfig" kube-proxy
  write_kubeconfig "$PKI/coredns.kubeconfig" coredns
  chmod 600 "$PKI"/*.key "$KUBECONFIG_FILE"
}
