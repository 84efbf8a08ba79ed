#!/usr/bin/env bash
# Builds the Go test helpers that run the ecosystem's own code, once per machine, from the Go module proxy:
#   argocd-health  Argo CD's health evaluation (test/argocd/: github.com/argoproj/argo-cd/v3 util/lua)
#   kstatus        kstatus (test/kstatus/: sigs.k8s.io/cli-utils/pkg/kstatus/status)
# Like build.sh: output goes to $CACHE/<helper>-<version>-<source hash>/, built in a temp folder and moved
# into place only when complete; a change to a helper's go.mod, go.sum or Go source builds it again.
# ARGOCD_HEALTH_BIN / KSTATUS_BIN override; `build-go-helpers.sh --print-env` prints what the tests read.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
CACHE="${SORACOM_ESIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/soracom-esim-operator/bin}"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"

log() { printf '[go-helpers-build] %s\n' "$*" >&2; }

# required_version MODULE_DIR MODULE_PATH: the version the helper's go.mod requires.
required_version() { awk -v m="$2" '$1 == m || $2 == m { for (i = 1; i <= NF; i++) if ($i ~ /^v[0-9]/) { print $i; exit } }' "$1/go.mod"; }
source_hash() { (cd "$1" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-12); }

# dir_of NAME MODULE_DIR MODULE_PATH: the cache folder of a helper.
dir_of() { echo "$CACHE/$1-$(required_version "$2" "$3")-$(source_hash "$2")"; }

argocd_src="$root/test/argocd"
kstatus_src="$root/test/kstatus"
argocd_dir=$(dir_of argocd-health "$argocd_src" github.com/argoproj/argo-cd/v3)
kstatus_dir=$(dir_of kstatus "$kstatus_src" sigs.k8s.io/cli-utils)

if [ "${1:-}" = "--print-env" ]; then
  echo "ARGOCD_HEALTH_BIN=${ARGOCD_HEALTH_BIN:-$argocd_dir/argocd-health}"
  echo "KSTATUS_BIN=${KSTATUS_BIN:-$kstatus_dir/kstatus}"
  exit 0
fi

# build NAME SOURCE_DIR OUT_DIR OVERRIDE: go build the module in SOURCE_DIR into OUT_DIR/NAME, unless cached.
build() {
  local name="$1" src="$2" out="$3" override="$4"
  if [ -n "$override" ]; then log "$name: $override (set by the environment)"; return; fi
  if [ -x "$out/$name" ]; then
    log "$name: cached ($out/$name, built in $(cat "$out/.build-seconds" 2>/dev/null || echo '?')s)"
    return
  fi
  local t0; t0=$(date +%s)
  mkdir -p "$CACHE"
  local work; work=$(mktemp -d "$CACHE/.build-$name.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  log "$name: compiling $(basename "$out") (a few minutes on 2 cores the first time)"
  (cd "$src" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$work/$name" .)
  echo $(( $(date +%s) - t0 )) > "$work/.build-seconds"
  rm -rf "$out" && mv "$work" "$out" && chmod 755 "$out"
  log "$name: built in $(cat "$out/.build-seconds")s -> $out"
}

case "${1:-all}" in
  all)
    build argocd-health "$argocd_src" "$argocd_dir" "${ARGOCD_HEALTH_BIN:-}"
    build kstatus "$kstatus_src" "$kstatus_dir" "${KSTATUS_BIN:-}"
    ;;
  argocd-health) build argocd-health "$argocd_src" "$argocd_dir" "${ARGOCD_HEALTH_BIN:-}" ;;
  kstatus) build kstatus "$kstatus_src" "$kstatus_dir" "${KSTATUS_BIN:-}" ;;
  *) log "unknown helper '$1' (all | argocd-health | kstatus)"; exit 2 ;;
esac
