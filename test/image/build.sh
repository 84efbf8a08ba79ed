#!/usr/bin/env bash
# Builds the operator's two images from the Dockerfile unchanged, with podman (no Docker engine needed):
#   localhost/soracom-esim-operator:test   (target controller)
#   localhost/soracom-esim-simulator:test  (target simulator)
# on NODE_IMAGE (default: a local stand-in for node:24-slim, test/image/base-image.sh). Machine quirks
# (field notes): runc, not crun; ulimits within root's hard limits; npm inside the build trusts the host's
# CA bundle (mounted for the RUN steps only, never copied into an image).
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { printf '[image] %s\n' "$*" >&2; }
NODE_IMAGE="${NODE_IMAGE:-localhost/node-base:24-slim}"
[ "$NODE_IMAGE" != localhost/node-base:24-slim ] || bash test/image/base-image.sh

npmrc=$(mktemp)
trap 'rm -f "$npmrc"' EXIT
echo "cafile=/etc/ssl/certs/ca-certificates.crt" > "$npmrc"
nofile=$(ulimit -Hn)
common=(
  --runtime runc
  --ulimit "nofile=$nofile:$nofile" --ulimit nproc=32768:32768
  --volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
  --volume "$npmrc:/usr/local/etc/npmrc:ro"
  --build-arg "NODE_IMAGE=$NODE_IMAGE"
  --layers
)
for target in controller simulator; do
  name=soracom-esim-operator
  [ "$target" = simulator ] && name=soracom-esim-simulator
  t0=$(date +%s)
  log "building localhost/$name:test (target $target)"
  podman build "${common[@]}" --target "$target" -t "localhost/$name:test" -f Dockerfile . >&2
  log "localhost/$name:test built in $(($(date +%s) - t0))s ($(podman image inspect --format '{{.Size}}' "localhost/$name:test") bytes)"
done
