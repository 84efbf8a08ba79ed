import { isNotFound } from "../soracom/errors.js";
import type { Sim } from "../soracom/types.js";
import type { ReadAction } from "./actions.js";
import type { SimOps } from "./ports.js";

/**
 * observeSim runs a plan's read action: the SIM, or "NotFound" when Soracom has no such SIM (yet).
 * Reads only; other errors propagate (the client already retried what is safe to retry).
 */
export async function observeSim(ops: SimOps, read: ReadAction): Promise<Sim | "NotFound"> {
  if (read.type === "getSim") return getOrNotFound(ops, read.simId);
  const by = read.by;
  if ("simId" in by) return getOrNotFound(ops, by.simId);
  if ("imsi" in by) {
    // GET /subscribers/{imsi} is exact and not behind the search index; it names the SIM ID.
    const simId = await ops.resolveSimId({ imsi: by.imsi });
    return simId ? getOrNotFound(ops, simId) : "NotFound";
  }
  // The ICCID needs the (eventually consistent) search, filtered to exact matches by the client.
  return (await ops.findSimExact({ iccid: by.iccid })) ?? "NotFound";
}

async function getOrNotFound(ops: SimOps, simId: string): Promise<Sim | "NotFound"> {
  try {
    return await ops.getSim(simId);
  } catch (err) {
    if (isNotFound(err)) return "NotFound";
    throw err;
  }
}
