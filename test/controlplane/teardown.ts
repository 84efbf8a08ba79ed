/**
 * Teardown on the way out, however the process leaves: SIGINT/SIGTERM stop the servers gracefully
 * and then exit with the conventional code; 'exit' (normal end, process.exit, uncaught error) kills
 * whatever is left synchronously, because nothing can be awaited there. A SIGKILLed process cannot
 * clean up; the next run reaps its leftovers (see leftovers.ts).
 */

interface Stoppable {
  stop(): Promise<void>;
  killNow(): void;
}

const live = new Set<Stoppable>();

function onSignal(signal: NodeJS.Signals): void {
  const code = signal === "SIGINT" ? 130 : 143;
  process.stderr.write(`[controlplane] ${signal}: stopping the control plane\n`);
  Promise.allSettled([...live].map((cp) => cp.stop())).finally(() => process.exit(code));
}

function onExit(): void {
  for (const cp of live) cp.killNow();
  live.clear();
}

/**
 * onProcessExit registers a running control plane for teardown; the returned function unregisters it.
 * The handlers are installed only while a control plane runs, so that otherwise the process (a
 * vitest worker, say) keeps its own signal behaviour.
 */
export function onProcessExit(cp: Stoppable): () => void {
  if (live.size === 0) {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    process.once("exit", onExit);
  }
  live.add(cp);
  return () => {
    if (live.delete(cp) && live.size === 0) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.off("exit", onExit);
    }
  };
}
