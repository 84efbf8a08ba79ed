import { crashPoint } from "./crashpoints.js";
import { isOutcomeUnknown, SoracomApiError, type SoracomClient } from "./soracom/index.js";

/**
 * The one protocol for the one irreversible call, shared by the profile reconciler (deletion under
 * Terminate) and the order reconciler (its recorded, re-checked policy terminations):
 * 1. record the termination in the ledger; a termination that cannot be recorded, or that the budget
 *    refuses, is not made, and the SIM's protection is left as it is;
 * 2. lift the termination protection when the caller read it on;
 * 3. terminate, never repeated blindly: a lost answer is rethrown (the caller reads the SIM before
 *    anything else next time); a definite refusal is judged by reading the SIM (terminated already:
 *    done; protection back on: lift it and try once more).
 */

export type TerminateOps = Pick<SoracomClient, "getSim" | "enableSimTermination" | "terminateSim">;

export interface TerminateOptions {
  /** The SIM was read with termination protection on (terminationEnabled not true). */
  enable: boolean;
  /** Records the termination in the ledger before anything is sent; throws to refuse. */
  record: () => Promise<void>;
  /** Told when this call lifted the protection (for an Event). */
  onEnabled?: () => void;
}

/** terminateSim runs the protocol above for one SIM. */
export async function terminateSim(ops: TerminateOps, simId: string, opts: TerminateOptions): Promise<void> {
  await opts.record();
  if (opts.enable) {
    await ops.enableSimTermination(simId);
    opts.onEnabled?.();
  }
  crashPoint("before-terminate");
  try {
    await ops.terminateSim(simId);
    crashPoint("after-terminate");
    return;
  } catch (err) {
    if (isOutcomeUnknown(err) || !isDefiniteRefusal(err)) throw err;
    const sim = await ops.getSim(simId);
    if (sim.status === "terminated") return;
    if (sim.terminationEnabled === true) throw err;
    await ops.enableSimTermination(simId);
    opts.onEnabled?.();
  }
  await ops.terminateSim(simId);
  crashPoint("after-terminate");
}

/** isDefiniteRefusal: a 4xx answer other than 429 means Soracom looked at the request and said no. */
export function isDefiniteRefusal(err: unknown): err is SoracomApiError {
  return err instanceof SoracomApiError && err.status >= 400 && err.status < 500 && err.status !== 429;
}
