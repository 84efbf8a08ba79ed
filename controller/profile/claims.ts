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
  /**
   * Holders by identity: "account\0kind" → value (the profile's own ICCID, IMSI or SIM ID string) → the
   * profile, or the profiles when several claim it (rare). Stored this way the claims of 100,000 profiles
   * add no string of their own and one map entry per identity (docs/performance.md).
   */
  private readonly byKey = new Map<string, Map<string, Holders>>();
  /** The profile object whose claims are recorded, by namespace and name (to find its keys again). */
  private readonly recorded = new Map<string, Map<string, EsimProfile>>();

  /** accountOf names the account a profile's SIM belongs to (its accountRef, its order's, or the default). */
  constructor(private readonly accountOf: (p: EsimProfile) => string = () => "") {}

  /** set records a profile as the informer shows it now (its identities may have grown). */
  set(p: EsimProfile): void {
    this.remove(p);
    const ns = p.metadata.namespace ?? "";
    const byName = this.recorded.get(ns) ?? new Map<string, EsimProfile>();
    this.recorded.set(ns, byName);
    byName.set(p.metadata.name ?? "", p);
    for (const [group, value] of this.identities(p)) {
      const values = this.byKey.get(group) ?? new Map<string, Holders>();
      this.byKey.set(group, values);
      const holders = values.get(value);
      values.set(value, holders === undefined ? p : [...asList(holders), p]);
    }
  }

  remove(p: EsimProfile): void {
    const ns = p.metadata.namespace ?? "";
    const byName = this.recorded.get(ns);
    const before = byName?.get(p.metadata.name ?? "");
    if (!byName || !before) return;
    const id = idOf(before);
    for (const [group, value] of this.identities(before)) {
      const values = this.byKey.get(group);
      const rest = asList(values?.get(value)).filter((h) => idOf(h) !== id);
      if (rest.length === 0) values?.delete(value);
      else values?.set(value, rest.length === 1 ? (rest[0] as EsimProfile) : rest);
      if (values?.size === 0) this.byKey.delete(group);
    }
    byName.delete(p.metadata.name ?? "");
    if (byName.size === 0) this.recorded.delete(ns);
  }

  /**
   * heldBy names the older profile ("namespace/name") holding a SIM this one claims, if there is one.
   * `sim` adds the identities of the SIM as just read: two profiles naming one SIM differently (an ICCID,
   * a SIM ID) are found out before either acts, even while the other's resolved status is not cached yet.
   */
  heldBy(p: EsimProfile, sim?: Sim): string | undefined {
    const me = idOf(p);
    let holder: EsimProfile | undefined;
    const keys = [...this.identities(p), ...(sim ? simIdentities(sim, this.accountOf(p)) : [])];
    for (const [group, value] of keys) {
      for (const other of asList(this.byKey.get(group)?.get(value))) {
        if (idOf(other) !== me && older(other, holder ?? p)) holder = other;
      }
    }
    return holder && older(holder, p) ? idOf(holder) : undefined;
  }

  /** identities are the keys a profile claims: every SIM ID, ICCID and IMSI it names or has resolved, in its account. */
  private identities(p: EsimProfile): Identity[] {
    return identities(p, this.accountOf(p));
  }
}

/** Identity is a claim: the group ("account\0kind") and the value. */
type Identity = [group: string, value: string];
type Holders = EsimProfile | EsimProfile[];

function asList(h: Holders | undefined): EsimProfile[] {
  return h === undefined ? [] : Array.isArray(h) ? h : [h];
}

/** simIdentities are the keys of a SIM as Soracom answers it: its SIM ID, and each profile's ICCID and IMSIs. */
function simIdentities(sim: Sim, account: string): Identity[] {
  const keys: Identity[] = [];
  if (sim.simId) keys.push([`${account}\u0000sim`, sim.simId]);
  for (const p of Object.values(sim.profiles ?? {})) {
    if (p.iccid) keys.push([`${account}\u0000iccid`, p.iccid]);
    if (p.primaryImsi) keys.push([`${account}\u0000imsi`, p.primaryImsi]);
    for (const imsi of Object.keys(p.subscribers ?? {})) keys.push([`${account}\u0000imsi`, imsi]);
  }
  return keys;
}

function idOf(p: EsimProfile): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

/** identities: each (kind, value) once, though spec and status usually name the same ICCID and IMSI. */
function identities(p: EsimProfile, account: string): Identity[] {
  const keys: Identity[] = [];
  const add = (kind: string, a: string | undefined, b: string | undefined) => {
    if (a) keys.push([`${account}\u0000${kind}`, a]);
    if (b && b !== a) keys.push([`${account}\u0000${kind}`, b]);
  };
  add("sim", p.spec.simId, p.status?.simId);
  add("iccid", p.spec.iccid, p.status?.iccid);
  add("imsi", p.spec.imsi, p.status?.imsi);
  return keys;
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
