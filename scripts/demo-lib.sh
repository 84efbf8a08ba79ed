# Shared by scripts/demo.sh and scripts/demo-stop.sh: the demo's background processes, each with a
# pid file in .demo/ and a marker that must appear in its command line (so a recycled pid is never
# mistaken for ours and never killed).
# shellcheck shell=bash

DEMO_DIR="${DEMO_DIR:-.demo}"
# The controller's own namespace (POD_NAMESPACE in a pod): account credentials Secrets, ledgers, its Lease.
# The demo applies the examples there too, labelled for the SoracomAccount logistics.
DEMO_OPERATOR_NAMESPACE=default
COMPONENTS=(controller simulator controlplane) # stop order: the controller first, the control plane last

marker_of() {
  case "$1" in
    controlplane) echo "demo-controlplane.js" ;;
    simulator) echo "simulator/cli.js" ;;
    controller) echo "cli.js controller" ;;
  esac
}

# pid_of <component>: prints the pid if that component is running, else nothing (and fails).
pid_of() {
  local file="$DEMO_DIR/$1.pid" pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$(marker_of "$1")" || return 1
  echo "$pid"
}

# start_component <component> <command...>: runs it in the background in a session of its own, so
# that Ctrl-C in this terminal (say, during the live view) does not reach it; logs to .demo/<c>.log.
start_component() {
  local name="$1"
  shift
  if command -v setsid >/dev/null; then
    setsid "$@" >"$DEMO_DIR/$name.log" 2>&1 </dev/null &
  else
    nohup "$@" >"$DEMO_DIR/$name.log" 2>&1 </dev/null &
  fi
  echo $! >"$DEMO_DIR/$name.pid"
}

# stop_component <component> [grace-seconds]: SIGTERM, wait, then SIGKILL; removes the pid file.
stop_component() {
  local name="$1" grace="${2:-30}" pid i
  if pid=$(pid_of "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "demo: $name (pid $pid) ignored SIGTERM for ${grace}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "demo: stopped $name (pid $pid)"
  fi
  rm -f "$DEMO_DIR/$name.pid"
}

# print_usage <kubeconfig> <simulator-url>
print_usage() {
  local kubectl_dir
  kubectl_dir=$(dirname "$(bash test/controlplane/build.sh --print-env | sed -n 's/^KUBECTL_BIN=//p')")
  # kubectl finds plugins on PATH: a small wrapper makes `kubectl esim` run this checkout's build.
  mkdir -p "$DEMO_DIR/bin"
  printf '#!/bin/sh\nexec node "%s/dist/plugin/cli.js" "$@"\n' "$PWD" >"$DEMO_DIR/bin/kubectl-esim"
  chmod +x "$DEMO_DIR/bin/kubectl-esim"
  cat <<USAGE

The demo runs in the background. Operator namespace: $DEMO_OPERATOR_NAMESPACE (the account credentials Secret
soracom-logistics, the ledger ConfigMaps, the Lease). The examples are in namespace $DEMO_OPERATOR_NAMESPACE too,
labelled soracom.example/team=logistics for the SoracomAccount logistics. Try:
  export KUBECONFIG=$1 PATH=$kubectl_dir:$PWD/$DEMO_DIR/bin:\$PATH
  kubectl get esim -A                                               (both kinds: the category)
  kubectl describe esimprofileorder delivery-trucks
  kubectl esim status -A                                            (the kubectl plugin)
  kubectl esim approve fleet-cameras                                (approve, showing what it spends)
  kubectl patch esimprofileorder fleet-cameras --type merge -p '{"spec":{"approvedQuantity":10}}'   (or approve in git)
  kubectl esim export delivery-trucks > profiles.csv                (the console's CSV)

The Soracom simulator: $2 (API under /v1; AuthKey keyId-simulator / secret-simulator)
  curl -s $2/_sim/state                                     everything it knows
  curl -s $2/_sim/calls                                     the API calls the controller made
  curl -s -XPOST $2/_sim/clock/advance -d '{"ms":3600000}'  move simulated time an hour
  curl -s -XPOST $2/_sim/devices/<iccid>/events -d '{"event":"installed"}'   play the device

Logs: $DEMO_DIR/{controlplane,simulator,controller}.log
Stop: make demo-stop
USAGE
}
