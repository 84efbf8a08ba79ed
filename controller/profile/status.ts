import type { EsimProfile, EsimProfileSpec, EsimProfileStatus } from "../api/types.js";
import { deepEqual } from "../kube/status.js";
import type { Sim } from "../soracom/types.js";
import type { OwnedStatusField, ProfileStatusPatch } from "./ports.js";

/**
 * The status fields the profile reconciler owns, read from a profile, filled from a SIM, and turned
 * into the smallest merge patch.
 */

/** OwnedStatus is the part of status this reconciler writes. */
export type OwnedStatus = Pick<EsimProfileStatus, OwnedStatusField>;

const SIM_FIELDS = ["simId", "simStatus", "speedClass", "groupId", "terminationEnabled"] as const;
const ALWAYS: readonly OwnedStatusField[] = ["phase", "conditions", "observedGeneration", ...SIM_FIELDS];

/** ownedStatusOf copies the owned fields out of a profile's status (iccid/imsi too; see statusPatch). */
export function ownedStatusOf(profile: EsimProfile): OwnedStatus {
  const s = profile.status ?? {};
  const out: OwnedStatus = {};
  for (const key of [...ALWAYS, "iccid", "imsi"] as const) {
    if (s[key] !== undefined) (out as Record<string, unknown>)[key] = s[key];
  }
  return out;
}

/**
 * simFields are the status fields a SIM answer sets. For an adopted profile (adoptedSpec given) the
 * ICCID and IMSI come from the SIM too; for an order-created one the order writes them, so they are
 * left out here (the keys are absent, not undefined).
 */
export function simFields(sim: Sim, knownSimId: string | undefined, adoptedSpec?: EsimProfileSpec): OwnedStatus {
  const out: OwnedStatus = {
    simId: sim.simId ?? knownSimId,
    simStatus: sim.status,
    speedClass: sim.speedClass,
    groupId: sim.groupId || undefined,
    terminationEnabled: sim.terminationEnabled,
  };
  if (adoptedSpec) Object.assign(out, identityOf(sim, adoptedSpec));
  return out;
}

/** identityOf: the ICCID and IMSI of an adopted SIM, preferring what the spec names. */
export function identityOf(sim: Sim, spec: EsimProfileSpec): { iccid?: string; imsi?: string } {
  const profiles = Object.entries(sim.profiles ?? {});
  const [key, profile] =
    profiles.find(([k, p]) => (p.iccid ?? k) === spec.iccid) ??
    profiles.find(([k, p]) => (p.iccid ?? k) === sim.activeProfileId) ??
    profiles[0] ??
    [];
  const iccid = spec.iccid ?? profile?.iccid ?? key;
  const imsi = spec.imsi ?? profile?.primaryImsi ?? Object.keys(profile?.subscribers ?? {})[0];
  return { ...(iccid ? { iccid } : {}), ...(imsi ? { imsi } : {}) };
}

/**
 * statusPatch is the merge patch from current to next over the owned fields, or undefined when
 * nothing changed (a write that changes nothing would only wake the informer). A field next lacks is
 * removed (null). iccid and imsi belong to the order for order-created profiles: patched only when
 * `withIdentity`.
 */
export function statusPatch(
  current: OwnedStatus,
  next: OwnedStatus,
  withIdentity: boolean,
): ProfileStatusPatch | undefined {
  const keys: OwnedStatusField[] = withIdentity ? [...ALWAYS, "iccid", "imsi"] : [...ALWAYS];
  const patch: Record<string, unknown> = {};
  for (const key of keys) {
    const a = current[key];
    const b = next[key];
    if (deepEqual(a, b)) continue;
    patch[key] = b === undefined ? null : b;
  }
  return Object.keys(patch).length > 0 ? (patch as ProfileStatusPatch) : undefined;
}
