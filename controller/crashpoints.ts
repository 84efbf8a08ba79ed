/**
 * Crash points for the fault suite: named places in the order and termination flows where a test can
 * make the controller process die at once (SIGKILL, no cleanup), to prove that a crash at any step is
 * safe. Inactive unless ESIM_TEST_CRASH_AT names a point; ESIM_TEST_CRASH_SKIP=N lets N passes go
 * first. Never set these in production.
 */
export const CRASH_POINTS = [
  "before-intent", // planned a create, intent not yet written
  "before-create", // intent written, create not yet sent
  "after-create", // create answered, result not yet written to status
  "before-confirm", // about to confirm a draft
  "after-confirm", // confirm answered, result not yet written
  "before-materialize", // order COMPLETED, EsimProfiles not yet created
  "before-terminate", // termination budget consumed, terminate not yet sent
  "after-terminate", // terminate answered, finalizer not yet removed
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const target = process.env.ESIM_TEST_CRASH_AT;
let skip = Number(process.env.ESIM_TEST_CRASH_SKIP ?? "0");

/** crashPoint kills the process here when the fault suite asked for it. */
export function crashPoint(point: CrashPoint): void {
  if (target !== point) return;
  if (skip-- > 0) return;
  process.stderr.write(`${JSON.stringify({ level: "fatal", msg: "crash point reached: SIGKILL", point })}\n`);
  process.kill(process.pid, "SIGKILL");
}
