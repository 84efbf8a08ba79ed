#!/usr/bin/env bash
# image.sh build|push|kind: the controller image (the Dockerfile's controller target) as $IMAGE, with podman
# or docker, whichever exists (CONTAINER_ENGINE=docker|podman chooses). `make image`, `make image-push`,
# `make image-kind` (docs/install.md#the-container-image).
#   build  builds $IMAGE (default localhost/soracom-esim-operator:dev)
#   push   builds, then pushes $IMAGE (which must name your registry)
#   kind   builds, then loads $IMAGE into the kind cluster $KIND_CLUSTER (default: kind)
# IMAGE_BUILD_ARGS adds build flags (e.g. --build-arg NODE_IMAGE=...). The tests' pair of images is
# test/image/build.sh's (podman, this project's machines).
set -euo pipefail
cd "$(dirname "$0")/.."
die() { printf 'image: %s\n' "$*" >&2; exit 2; }
action="${1:-build}"
IMAGE="${IMAGE:-localhost/soracom-esim-operator:dev}"
engine="${CONTAINER_ENGINE:-}"
if [ -z "$engine" ]; then
  if command -v podman >/dev/null; then engine=podman
  elif command -v docker >/dev/null; then engine=docker
  else die "neither podman nor docker is installed: install one (or set CONTAINER_ENGINE)"; fi
fi
case "$action" in build | push | kind) ;; *) die "unknown action '$action' (build, push or kind)";; esac
[[ "$IMAGE" != *@* ]] || die "IMAGE=$IMAGE: give a tag, not a digest (pin the pushed digest with image.digest)"
[[ "${IMAGE##*/}" == *:* ]] || die "IMAGE=$IMAGE has no tag: IMAGE=registry.example.com/soracom-esim-operator:0.1.0"
if [ "$action" = push ] && [[ "$IMAGE" == localhost/* ]]; then
  die "IMAGE=$IMAGE names no registry: IMAGE=registry.example.com/soracom-esim-operator:0.1.0 make image-push"
fi

# shellcheck disable=SC2086 # IMAGE_BUILD_ARGS is a list of flags
"$engine" build --target controller -t "$IMAGE" ${IMAGE_BUILD_ARGS:-} -f Dockerfile .
case "$action" in
  push)
    "$engine" push "$IMAGE"
    echo "pushed $IMAGE: --set image.repository=${IMAGE%:*} --set image.tag=${IMAGE##*:}" >&2
    ;;
  kind)
    command -v kind >/dev/null || die "kind is not installed"
    if [ "$engine" = docker ]; then
      kind load docker-image "$IMAGE" --name "${KIND_CLUSTER:-kind}"
    else # kind cannot read podman's store: through an archive
      archive=$(mktemp --suffix .tar)
      trap 'rm -f "$archive"' EXIT
      podman save -o "$archive" "$IMAGE"
      kind load image-archive "$archive" --name "${KIND_CLUSTER:-kind}"
    fi
    echo "loaded $IMAGE into kind: --set image.repository=${IMAGE%:*} --set image.tag=${IMAGE##*:} --set image.pullPolicy=Never" >&2
    ;;
esac
