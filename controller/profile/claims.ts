import type { EsimProfile } from "../api/types.js";
import type { Sim } from "../soracom/types.js";

/**
 * SimClaims: one SIM is held by at most one EsimProfile. Every profile claims the identities it names or
 * has resolved (SIM ID, ICCID, IMSI); when two claim the same one, the older holds it (creation time, then
 * UID; see older) and the other is never acted on: no SIM change, no termination, whatever its spec says. Claims are
 * per Soracom account (a SIM belongs to one), and kept up to date from the profile informer's events, so
 * asking costs no scan of every profile.
 */
export class SimClaims {
  private readonly byKey = new Map<string, Map<string, EsimProfile>>();
  private readonly keysOf = new Map<string, string[]>();

  /** accountOf names the account a profile's SIM belongs to (its accountRef, its order's, or the default). */
  constructor(private readonly accountOf: (p: EsimProfile) => string = () => "") {}

  /** set records a profile as the informer shows it now (its identities may have grown). */
  set(p: EsimProfile): void {
    this.remove(p);
    const id = idOf(p);
    const keys = this.identities(p);
    this.keysOf.set(id, keys);
    for (const k of keys) {
      const holders = this.byKey.get(k) ?? new Map<string, EsimProfile>();
      this.byKey.set(k, holders);
      holders.set(id, p);
    }
  }

  remove(p: EsimProfile): void {
    const id = idOf(p);
    for (const k of this.keysOf.get(id) ?? []) {
      const holders = this.byKey.get(k);
      holders?.delete(id);
      if (holders?.size === 0) this.byKey.delete(k);
    }
    this.keysOf.delete(id);
  }

  /**
   * heldBy names the older profile ("namespace/name") holding a SIM this one claims, if there is one.
   * `sim` adds the identities of the SIM as just read: two profiles naming one SIM differently (an ICCID,
   * a SIM ID) are found out before either acts, even while the other's resolved status is not cached yet.
   */
  heldBy(p: EsimProfile, sim?: Sim): string | undefined {
    const me = idOf(p);
    let holder: EsimProfile | undefined;
    const keys = new Set([...this.identities(p), ...(sim ? simIdentities(sim, this.accountOf(p)) : [])]);
    for (const k of keys) {
      for (const [id, other] of this.byKey.get(k) ?? []) {
        if (id !== me && older(other, holder ?? p)) holder = other;
      }
    }
    return holder && older(holder, p) ? `${holder.metadata.namespace}/${holder.metadata.name}` : undefined;
  }

  /** identities are the keys a profile claims: every SIM ID, ICCID and IMSI it names or has resolved, in its account. */
  private identities(p: EsimProfile): string[] {
    return identities(p, this.accountOf(p));
  }
}

/** simIdentities are the keys of a SIM as Soracom answers it: its SIM ID, and each profile's ICCID and IMSIs. */
function simIdentities(sim: Sim, account: string): string[] {
  const keys: string[] = [];
  if (sim.simId) keys.push(`${account}\u0000sim:${sim.simId}`);
  for (const p of Object.values(sim.profiles ?? {})) {
    if (p.iccid) keys.push(`${account}\u0000iccid:${p.iccid}`);
    if (p.primaryImsi) keys.push(`${account}\u0000imsi:${p.primaryImsi}`);
    for (const imsi of Object.keys(p.subscribers ?? {})) keys.push(`${account}\u0000imsi:${imsi}`);
  }
  return keys;
}

function idOf(p: EsimProfile): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

function identities(p: EsimProfile, account: string): string[] {
  const keys = new Set<string>();
  const add = (kind: string, v: string | undefined) => v && keys.add(`${account}\u0000${kind}:${v}`);
  add("sim", p.spec.simId);
  add("sim", p.status?.simId);
  add("iccid", p.spec.iccid);
  add("iccid", p.status?.iccid);
  add("imsi", p.spec.imsi);
  add("imsi", p.status?.imsi);
  return [...keys];
}

/**
 * older: the one that already resolved a SIM (status.simId, written only by the controller) holds it over
 * one that has not; then created first; then the smaller UID. Creation times have one-second resolution,
 * so without the first rule a profile made in the same second as the holder could take over its SIM.
 */
function older(a: EsimProfile, b: EsimProfile): boolean {
  const ra = Boolean(a.status?.simId);
  if (ra !== Boolean(b.status?.simId)) return ra;
  const ta = Date.parse(String(a.metadata.creationTimestamp ?? "")) || 0;
  const tb = Date.parse(String(b.metadata.creationTimestamp ?? "")) || 0;
  if (ta !== tb) return ta < tb;
  return String(a.metadata.uid ?? idOf(a)) < String(b.metadata.uid ?? idOf(b));
}
