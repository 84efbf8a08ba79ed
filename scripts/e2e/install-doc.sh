#!/usr/bin/env bash
# install-doc.sh: docs/install.md's path as a test. Runs the shell blocks marked <!-- e2e: run NAME --> in
# order, as written (scripts/doc-blocks.mjs extracts them), against the e2e cluster: kubectl and helm on
# PATH, KUBECONFIG the cluster's, and the values the doc's `your-values` block asks the user for set to
# the image this run built and the simulator (SORACOM_ENDPOINT, the simulator's AuthKey). Prints the
# transcript (each block as written, then its output) and keeps it in .e2e/install-doc-transcript.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/e2e/lib.sh
e2e_bins
kubeconfig="${E2E_KUBECONFIG:-$E2E_DIR/admin.kubeconfig}"
run() { if [ "${E2E_NO_NETNS:-0}" = 1 ]; then "$@"; else in_ns "$@"; fi; }
doc=docs/install.md
transcript="$PWD/.e2e/install-doc-transcript.txt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p .e2e "$work/bin"
ln -s "$KUBECTL_BIN" "$work/bin/kubectl"
ln -s "$HELM_BIN" "$work/bin/helm"
mapfile -t blocks < <(node scripts/doc-blocks.mjs "$doc" --write "$work/blocks")
[ "${#blocks[@]}" -gt 0 ] || e2e_fail "$doc has no <!-- e2e: run --> block"

export IMAGE="${E2E_IMAGES[0]}" SORACOM_ENDPOINT="http://$E2E_SIMULATOR_IP:8080"
export SORACOM_AUTH_KEY_ID=keyId-simulator SORACOM_AUTH_KEY=secret-simulator
say() { printf '%s\n' "$*" | tee -a "$transcript" >&2; }
: >"$transcript"
say "# $doc, as run by make e2e on $(date -u +%Y-%m-%dT%H:%M:%SZ) (commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
say "# the doc's your-values, set by make e2e: IMAGE=$IMAGE SORACOM_ENDPOINT=$SORACOM_ENDPOINT"
say "#   SORACOM_AUTH_KEY_ID=$SORACOM_AUTH_KEY_ID SORACOM_AUTH_KEY=(the simulator's)"
t_all=$(date +%s)
for block in "${blocks[@]}"; do
  name="${block%.sh}"
  name="${name#*-}"
  say ""
  say "## block '$name' ($doc)"
  sed 's/^/$ /' "$work/blocks/$block" | tee -a "$transcript" >&2
  t=$(date +%s)
  set +e
  run env PATH="$work/bin:$PATH" KUBECONFIG="$kubeconfig" bash -euo pipefail "$work/blocks/$block" 2>&1 |
    tee -a "$transcript" >&2
  rc=${PIPESTATUS[0]}
  set -e
  say "# block '$name': exit $rc in $(($(date +%s) - t))s"
  [ "$rc" = 0 ] || e2e_fail "$doc, block '$name' (exit $rc): transcript in $transcript"
done
say ""
say "# $doc: ${#blocks[@]} blocks passed in $(($(date +%s) - t_all))s"
e2e_log "docs/install.md ran as written: transcript in .e2e/install-doc-transcript.txt"
