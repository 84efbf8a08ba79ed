import type { EsimProfile } from "../api/types.js";
import { CONDITIONS, REASONS } from "../api/vocabulary.js";
import type { Sim } from "../soracom/types.js";

/**
 * SimClaims: one SIM is held by at most one EsimProfile. Every profile claims the identities it names or
 * has resolved (SIM ID, ICCID, IMSI); when two claim the same one, the one that ranks first holds it (see
 * outranks) and the other is never acted on: no SIM change, no termination, whatever its spec says.
 * Claims are per Soracom operator, the one that owns the SIM: two profiles conflict when they act as the
 * same operator (whichever SoracomAccount, Secret or namespace they reach it through), or when either's
 * operator is not known yet (it may be the same). Kept up to date from the profile informer's events, so
 * asking costs no scan of every profile.
 */
export class SimClaims {
  /**
   * Holders by identity: kind → value (the profile's own ICCID, IMSI or SIM ID string) → the profile, or
   * the profiles when several claim it (rare). Stored this way the claims of 100,000 profiles add no
   * string of their own and one map entry per identity (docs/performance.md).
   */
  private readonly byKey = new Map<string, Map<string, Holders>>();
  /** The profile object whose claims are recorded, by namespace and name (to find its keys again). */
  private readonly recorded = new Map<string, Map<string, EsimProfile>>();

  /** view answers, when asked, as which operator a profile acts and whether its order made it. */
  constructor(private readonly view: ClaimsView = SINGLE_OPERATOR) {}

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
  heldBy(p: EsimProfile, sim?: Sim, operator: string | undefined = this.view.operatorOf(p)): string | undefined {
    const me = idOf(p);
    const rank = (x: EsimProfile) => rankOf(x, this.view);
    let holder: EsimProfile | undefined;
    const keys = [...identities(p), ...(sim ? simIdentities(sim) : [])];
    for (const [group, value] of keys) {
      for (const other of asList(this.byKey.get(group)?.get(value))) {
        if (idOf(other) === me || !sameOperator(operator, this.view.operatorOf(other))) continue;
        if (outranks(rank(other), rank(holder ?? p))) holder = other;
      }
    }
    return holder && outranks(rank(holder), rank(p)) ? idOf(holder) : undefined;
  }

  /** identities are the keys a profile claims: every SIM ID, ICCID and IMSI it names or has resolved. */
  private identities(p: EsimProfile): Identity[] {
    return identities(p);
  }
}

/**
 * ClaimsView is what claims ask of the rest of the controller, at the moment they compare two profiles
 * (both can change after a profile's claims were recorded): the Soracom operator a profile acts as, and
 * whether it is a child its order made and recorded (origin.ts).
 */
export interface ClaimsView {
  /** The operator ID its credentials log in as; undefined while not known. */
  operatorOf(p: EsimProfile): string | undefined;
  isOrderChild(p: EsimProfile): boolean;
}

/** One operator, no order record: what tests of the ranking alone use. */
const SINGLE_OPERATOR: ClaimsView = { operatorOf: () => "", isOrderChild: () => false };

/** sameOperator: two claims may name one SIM; an unknown operator may be either, so it conflicts. */
function sameOperator(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/** Identity is a claim: the kind (sim, iccid, imsi) and the value. */
type Identity = [group: string, value: string];
type Holders = EsimProfile | EsimProfile[];

function asList(h: Holders | undefined): EsimProfile[] {
  return h === undefined ? [] : Array.isArray(h) ? h : [h];
}

/** simIdentities are the keys of a SIM as Soracom answers it: its SIM ID, and each profile's ICCID and IMSIs. */
function simIdentities(sim: Sim): Identity[] {
  const keys: Identity[] = [];
  if (sim.simId) keys.push(["sim", sim.simId]);
  for (const p of Object.values(sim.profiles ?? {})) {
    if (p.iccid) keys.push(["iccid", p.iccid]);
    if (p.primaryImsi) keys.push(["imsi", p.primaryImsi]);
    for (const imsi of Object.keys(p.subscribers ?? {})) keys.push(["imsi", imsi]);
  }
  return keys;
}

function idOf(p: EsimProfile): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

/** identities: each (kind, value) once, though spec and status usually name the same ICCID and IMSI. */
function identities(p: EsimProfile): Identity[] {
  const keys: Identity[] = [];
  const add = (kind: string, a: string | undefined, b: string | undefined) => {
    if (a) keys.push([kind, a]);
    if (b && b !== a) keys.push([kind, b]);
  };
  add("sim", p.spec.simId, p.status?.simId);
  add("iccid", p.spec.iccid, p.status?.iccid);
  add("imsi", p.spec.imsi, p.status?.imsi);
  return keys;
}

/** Rank is what decides which of two claims holds a SIM, field by field in this order. */
interface Rank {
  /** A child its order made and recorded: the SIM was bought for it; no adoption takes it. */
  child: boolean;
  /** Not Stalled SimHeldElsewhere: a profile once refused a held SIM never takes it from a claim that was not. */
  unrefused: boolean;
  /** Resolved its SIM (status.simId, written only by the controller). */
  resolved: boolean;
  created: number;
  uid: string;
}

function rankOf(p: EsimProfile, view: ClaimsView): Rank {
  const stalled = p.status?.conditions?.find((c) => c.type === CONDITIONS.stalled);
  return {
    child: view.isOrderChild(p),
    unrefused: !(stalled?.status === "True" && stalled.reason === REASONS.SimHeldElsewhere),
    resolved: Boolean(p.status?.simId),
    created: Date.parse(String(p.metadata.creationTimestamp ?? "")) || 0,
    uid: String(p.metadata.uid ?? idOf(p)),
  };
}

/**
 * outranks: a child its order recorded holds over an adoption; a claim never refused holds over one that
 * was (so when a holder is deleted and made again, an older profile stalled on it does not take the SIM
 * from the new one); one that already resolved its SIM holds over one that has not; then created first;
 * then the smaller UID. Creation times have one-second resolution, so without the resolved rule a profile
 * made in the same second as the holder could take over its SIM.
 */
function outranks(a: Rank, b: Rank): boolean {
  if (a.child !== b.child) return a.child;
  if (a.unrefused !== b.unrefused) return a.unrefused;
  if (a.resolved !== b.resolved) return a.resolved;
  if (a.created !== b.created) return a.created < b.created;
  return a.uid < b.uid;
}
