import { AnswerRefusedError } from "../answers.js";
import { isNotFound } from "../soracom/errors.js";
import { simCarries } from "../soracom/identity.js";
import type { Sim } from "../soracom/types.js";
import type { ReadAction, SimLookup } from "./actions.js";
import type { SimOps } from "./ports.js";

/**
 * observeSim runs a plan's read action: the SIM, or "NotFound" when Soracom has no such SIM (yet).
 * Reads only; other errors propagate (the client already retried what is safe to retry). A SIM found by
 * IMSI or ICCID is read by its SIM ID and must carry that identifier, and a SIM read by ID must be that
 * SIM: any other answer is refused (AnswerRefusedError) before anything is decided from it.
 */
export async function observeSim(ops: SimOps, read: ReadAction): Promise<Sim | "NotFound"> {
  if (read.type === "getSim") return readAs(ops, read.simId);
  const by = read.by;
  if ("simId" in by) return readAs(ops, by.simId);
  // GET /subscribers/{imsi} is exact and not behind the search index; it names the SIM ID. The ICCID
  // needs the (eventually consistent) search, filtered to exact matches by the client.
  const simId = "imsi" in by ? await ops.resolveSimId({ imsi: by.imsi }) : (await ops.findSimExact(by))?.simId;
  if (simId === undefined || simId === null) return "NotFound";
  if (typeof simId !== "string" || simId === "") throw refused(by, `a SIM ID that is not one (${typeof simId})`);
  const sim = await readAs(ops, simId);
  if (sim !== "NotFound" && !simCarries(sim, by)) throw refused(by, `SIM ${simId}, which does not carry it`);
  return sim;
}

/** readAs reads the SIM by its ID; an answer about another SIM is refused. */
async function readAs(ops: SimOps, simId: string): Promise<Sim | "NotFound"> {
  let sim: Sim;
  try {
    sim = await ops.getSim(simId);
  } catch (err) {
    if (isNotFound(err)) return "NotFound";
    throw err;
  }
  if (typeof sim !== "object" || sim === null || (sim.simId !== undefined && sim.simId !== simId))
    throw new AnswerRefusedError({
      cause: "WrongSim",
      message: `Soracom answered a read of SIM ${simId} with another SIM; nothing was done with it.`,
    });
  return sim;
}

function refused(by: Exclude<SimLookup, { simId: string }>, what: string): AnswerRefusedError {
  const key = "imsi" in by ? `IMSI ${by.imsi}` : `ICCID ${by.iccid}`;
  return new AnswerRefusedError({
    cause: "WrongSim",
    message: `Soracom's lookup of ${key} answered ${what}; nothing was done with it.`,
  });
}
