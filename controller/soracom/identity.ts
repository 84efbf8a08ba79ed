import { SoracomError, SoracomErrorCode } from "./errors.js";
import type { OrderedProfile, ProfileOrder, Sim, Subscriber } from "./types.js";

/**
 * Answers must be about what was asked. A proxy, a misrouted endpoint or a crafted server could answer a
 * GET of order A with order B; planned from, such an answer would steer another order (confirm it, count
 * its profiles). Every answer that names an order or SIM is checked against the ID in the request, and a
 * mismatch is an error (SORACOM_ERR_MISMATCH), never data.
 */

/** mismatch names what was asked, never the answer's value (an answer's text is not copied into messages). */
function mismatch(operation: string, what: string, asked: string, got: unknown): SoracomError {
  const other = got === undefined || got === null ? "names none" : "is about another one";
  return new SoracomError(
    SoracomErrorCode.mismatch,
    operation,
    `${operation}: asked for ${what} ${asked} but the answer ${other}; rejected`,
  );
}

/** expectOrder returns the order when it is the one asked for. */
export function expectOrder(operation: string, profileOrderId: string, o: ProfileOrder): ProfileOrder {
  if (o?.profileOrderId !== profileOrderId) throw mismatch(operation, "order", profileOrderId, o?.profileOrderId);
  return o;
}

/** expectProfilesOf returns the list when every profile in it belongs to the order asked for. */
export function expectProfilesOf(operation: string, profileOrderId: string, list: OrderedProfile[]): OrderedProfile[] {
  if (!Array.isArray(list)) throw mismatch(operation, "the profiles of order", profileOrderId, "not a list");
  const stray = list.find((p) => p?.profileOrderId !== profileOrderId);
  if (stray) throw mismatch(operation, "the profiles of order", profileOrderId, stray.profileOrderId);
  return list;
}

/** expectSim returns the SIM when it is the one asked for (an answer without a simId is accepted as is). */
export function expectSim(operation: string, simId: string, sim: Sim): Sim {
  if (sim?.simId !== undefined && sim.simId !== simId) throw mismatch(operation, "SIM", simId, sim.simId);
  return sim;
}

/** expectSubscriber returns the subscriber when it has the IMSI asked for (its SIM ID is checked by the schema). */
export function expectSubscriber(operation: string, imsi: string, sub: Subscriber): Subscriber {
  if (sub?.imsi !== imsi) throw mismatch(operation, "IMSI", imsi, sub?.imsi);
  return sub;
}

/** simCarries: the SIM has a profile with exactly this ICCID, or a subscriber with exactly this IMSI. */
export function simCarries(sim: Sim, key: { iccid: string } | { imsi: string }): boolean {
  const profiles = Object.entries(sim.profiles ?? {});
  if ("iccid" in key) return profiles.some(([iccid, p]) => (p.iccid ?? iccid) === key.iccid);
  return profiles.some(
    ([, p]) =>
      p.primaryImsi === key.imsi ||
      Object.entries(p.subscribers ?? {}).some(([imsi, s]) => (s.imsi ?? imsi) === key.imsi),
  );
}
