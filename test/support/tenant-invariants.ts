import { parseToken } from "../../controller/order/tokens.js";
import type { SimCall } from "./soracom-sim.js";

/**
 * The tenant adversary test's judge. Every verdict comes from the simulators' own record (their state and
 * call logs) read against what the harness itself did (which objects it made, deleted or rewired, and
 * when); nothing here reads what the controller says about itself in status. Pure: the test feeds it.
 */

export type Team = "victim" | "adversary";
/** Who may hold a SIM: a team, nobody (an unmanaged SIM under an account that forbids adoption), unknown. */
export type Holder = Team | "nobody" | "unknown";

/** One simulator as it saw the run: its operator's SIMs and orders, and every /v1 call it answered. */
export interface Endpoint {
  name: string;
  sims: Array<{
    simId: string;
    status: string;
    activeProfileId?: string;
    profiles?: Record<string, { primaryImsi?: string }>;
  }>;
  orders: Array<{ profileOrderId: string; description?: string; quantity: number; status: string; iccids: string[] }>;
  calls: SimCall[];
}

/** OrderTrace: one EsimProfileOrder (by UID) the harness made, as the harness set it. */
export interface OrderTrace {
  team: Team;
  namespace: string;
  name: string;
  /** The largest spec.quantity it ever had (every write's answer, every snapshot). */
  maxQuantity: number;
  /** Places the harness freed: its children deleted, or their ownerReferences / order label rewritten. */
  freed: number;
  /** When the harness first set scaleDownPolicy TerminateNeverInstalled (its documented terminations). */
  scaleDownSince?: number;
  /** When the harness deleted it, and whether its template then let children terminate (not Retain). */
  deletedAt?: number;
  templateTerminates: boolean;
}

/** ProfileTrace: one EsimProfile (by UID) as the harness made, saw and changed it. */
export interface ProfileTrace {
  team: Team;
  namespace: string;
  name: string;
  /** "simId:…", "iccid:…", "imsi:…": every SIM it ever named in spec or showed in status. */
  refs: Set<string>;
  /** UIDs of the EsimProfileOrders it ever named in ownerReferences (its own or forged). */
  ownerUids: Set<string>;
  /** spec.deletionPolicy over time (harness writes and snapshots). */
  policy: Array<{ at: number; value: string }>;
  /** When the harness did something that deletes it: a DELETE, or an ownerReference to no live owner of its namespace. */
  causes: number[];
  /** Accounts it ever named (spec.accountRef; "-" for none), for the violation sentences. */
  accounts: Set<string>;
}

export interface AccountSpend {
  name: string;
  endpoint: string;
  team: Team;
  limit: number;
}

/** Record is everything the harness knows about what it did. */
export interface TenantRecord {
  orders: Map<string, OrderTrace>;
  profiles: Map<string, ProfileTrace>;
  /** SIMs the harness created directly in a simulator (endpoint/simId), and who may hold them. */
  seeded: Map<string, Holder>;
  accounts: AccountSpend[];
  /** The simulator behind the controller's implicit (environment) account: no namespace may spend there. */
  implicitEndpoint: string;
  /** Requests that reached a server no account names (the trap). */
  strayRequests: string[];
  /** Tenant writes into the other team's namespace that the apiserver did not refuse. */
  crossNamespaceAccepted: string[];
  crossNamespaceTried: number;
}

export interface Row {
  invariant: string;
  checked: number;
  violations: string[];
  /** What was measured, in a line (printed under the table). */
  note?: string;
}

const BILLED = new Set(["CONFIRMED", "IN_PROGRESS", "COMPLETED"]);
const MUTATING = new Set(["POST", "PUT", "DELETE", "PATCH"]);
const TERMINATION_CALLS = new Set(["enableSimTermination", "terminateSim"]);
const simOfPath = (path: string) => /^\/v1\/sims\/([^/?]+)\/[^?]/.exec(path)?.[1];
const ok = (c: SimCall) => c.status >= 200 && c.status < 300;
const billed = (e: Endpoint) => e.orders.filter((o) => BILLED.has(o.status));

/** World indexes the simulators' records once: SIM identities, which order made which SIM, teams of order UIDs. */
class World {
  constructor(
    readonly endpoints: readonly Endpoint[],
    readonly rec: TenantRecord,
  ) {}

  sim(e: Endpoint, simId: string) {
    const s = e.sims.find((x) => x.simId === simId);
    if (!s) return undefined;
    const iccid = s.activeProfileId ?? "";
    return { simId, iccid, imsi: s.profiles?.[iccid]?.primaryImsi ?? "" };
  }

  /** orderOf: the Soracom order that made the SIM (by ICCID), and the EsimProfileOrder UID its token names. */
  orderOf(e: Endpoint, iccid: string): string | undefined {
    const o = e.orders.find((x) => x.iccids.includes(iccid));
    return o ? (parseToken(o.description)?.uid ?? "") : undefined;
  }

  holder(e: Endpoint, simId: string): Holder {
    const seeded = this.rec.seeded.get(`${e.name}/${simId}`);
    if (seeded) return seeded;
    const s = this.sim(e, simId);
    const uid = s ? this.orderOf(e, s.iccid) : undefined;
    return (uid && this.rec.orders.get(uid)?.team) || "unknown";
  }

  /**
   * terminationAuthorized: the SIM was terminated at `at` because its own team deleted (or cascaded away)
   * a profile naming it while that profile said Terminate, or its own order scaled down under
   * TerminateNeverInstalled, or its own order was deleted with children that terminate.
   */
  terminationAuthorized(e: Endpoint, simId: string, at: number): boolean {
    const team = this.holder(e, simId);
    const s = this.sim(e, simId);
    if (!s || (team !== "victim" && team !== "adversary")) return false;
    const keys = [`simId:${s.simId}`, `iccid:${s.iccid}`, `imsi:${s.imsi}`];
    for (const p of this.rec.profiles.values()) {
      if (p.team !== team || !keys.some((k) => p.refs.has(k))) continue;
      if (policyAt(p, at) !== "Terminate") continue;
      if (this.deleteCauses(p).some((t) => t <= at)) return true;
    }
    const uid = this.orderOf(e, s.iccid);
    const order = uid ? this.rec.orders.get(uid) : undefined;
    if (!order || order.team !== team) return false;
    if (order.scaleDownSince !== undefined && order.scaleDownSince <= at) return true;
    return order.deletedAt !== undefined && order.deletedAt <= at && order.templateTerminates;
  }

  /** suspects names the profiles of another team than the holder's that named the SIM (diagnosis only). */
  suspects(e: Endpoint, simId: string): string {
    const s = this.sim(e, simId);
    const holder = this.holder(e, simId);
    if (!s) return "";
    const keys = [`simId:${s.simId}`, `iccid:${s.iccid}`, `imsi:${s.imsi}`];
    const who = [...this.rec.profiles.values()]
      .filter((p) => p.team !== holder && keys.some((k) => p.refs.has(k)))
      .map((p) => {
        const owners = [...p.ownerUids].map((u) => this.rec.orders.get(u)?.team ?? "made-up");
        return `${p.namespace}/${p.name.slice(0, 24)} (account ${[...p.accounts].join("|")}; owners ${owners.join("|") || "none"})`;
      });
    return who.length
      ? `; named by ${who.slice(0, 2).join(", ")}${who.length > 2 ? ` and ${who.length - 2} more` : ""}`
      : "";
  }

  private deleteCauses(p: ProfileTrace): number[] {
    const cascade = [...p.ownerUids].map((u) => this.rec.orders.get(u)?.deletedAt);
    return [...p.causes, ...cascade.filter((t): t is number => t !== undefined)];
  }
}

function policyAt(p: ProfileTrace, at: number): string | undefined {
  const sorted = [...p.policy].sort((a, b) => a.at - b.at);
  return (sorted.filter((x) => x.at <= at).at(-1) ?? sorted[0])?.value;
}

/** (a) No mutating call on a SIM the other team holds, or no one may hold; the victim asks nothing of its SIMs but their termination. */
function checkForeignSims(w: World): Row {
  const row: Row = {
    invariant: "(a) no mutating call on a SIM the other team holds (or no one may hold)",
    checked: 0,
    violations: [],
  };
  for (const e of w.endpoints) {
    for (const c of e.calls) {
      const simId = simOfPath(c.path);
      if (!simId || !MUTATING.has(c.method)) continue;
      row.checked++;
      const holder = w.holder(e, simId);
      if (holder === "adversary" || !w.sim(e, simId)) continue;
      if (holder === "victim" && TERMINATION_CALLS.has(c.operation) && w.terminationAuthorized(e, simId, c.at))
        continue;
      row.violations.push(
        `${e.name}: ${c.operation} ${c.path} (${c.status}) on a SIM held by ${holder}${w.suspects(e, simId)}`,
      );
    }
  }
  return row;
}

/** (b) Every SIM terminated was terminated because its own team deleted the profile that held it under Terminate. */
function checkTerminations(w: World): Row {
  const row: Row = {
    invariant: "(b) no SIM terminated but by deleting its holder under Terminate",
    checked: 0,
    violations: [],
  };
  for (const e of w.endpoints) {
    for (const c of e.calls.filter((x) => x.operation === "terminateSim" && ok(x))) {
      const simId = simOfPath(c.path) ?? "";
      row.checked++;
      if (!w.terminationAuthorized(e, simId, c.at))
        row.violations.push(
          `${e.name}: SIM ${simId} (held by ${w.holder(e, simId)}) terminated with no deletion under Terminate by its holder's team${w.suspects(e, simId)}`,
        );
    }
  }
  return row;
}

/**
 * (c) Spend per account within its budget. Accounts select disjoint namespaces per endpoint, so a billed
 * Soracom order belongs to the account at its endpoint that selects the namespace of the EsimProfileOrder
 * its token names; the implicit account may spend nothing (SoracomAccounts exist; it selects no namespace).
 */
function checkSpend(w: World): Row {
  const row: Row = { invariant: "(c) spend per account within its budget", checked: 0, violations: [] };
  const spent = new Map<string, number>();
  for (const e of w.endpoints) {
    for (const o of billed(e)) {
      row.checked++;
      const team = w.rec.orders.get(parseToken(o.description)?.uid ?? "")?.team;
      const acct = w.rec.accounts.find((a) => a.endpoint === e.name && a.team === team);
      if (!acct) {
        const who = e.name === w.rec.implicitEndpoint ? "the implicit account (it selects no namespace)" : "no account";
        row.violations.push(
          `${e.name}: order ${o.profileOrderId} (${o.quantity} profiles, ${team ?? "unknown"}) spent through ${who}`,
        );
        continue;
      }
      spent.set(acct.name, (spent.get(acct.name) ?? 0) + o.quantity);
    }
  }
  const over = w.rec.accounts.filter((a) => (spent.get(a.name) ?? 0) > a.limit);
  row.violations.unshift(
    ...over.map((a) => `${a.name}: ${spent.get(a.name)} profiles billed for a budget of ${a.limit}`),
  );
  row.note = `billed per account: ${w.rec.accounts.map((a) => `${a.name} ${spent.get(a.name) ?? 0}/${a.limit}`).join(", ")}`;
  return row;
}

/**
 * (d) No order beyond what the orders wanted. Per team, over every endpoint:
 *   billed profiles <= Σ over its EsimProfileOrders (max spec.quantity ever set + places freed + SIMs terminated)
 * An order keeps spec.quantity live profiles and counts every child EsimProfile that exists (a terminated
 * record included): a place is given back only when the harness deletes a child or rewrites its
 * ownerReferences / order label (freed), or a SIM of the order is terminated (scale-down, cascade), after
 * which ordering again is the documented replacement. Drafts are free and not counted. On top, each
 * intent (token uid:sequence) is billed at most once across all endpoints, and no billed order lacks a
 * token of an EsimProfileOrder the harness made.
 */
function checkWanted(w: World): Row {
  const row: Row = { invariant: "(d) no order beyond what the orders wanted", checked: 0, violations: [] };
  const billedBy = new Map<Team, number>();
  const allowance = new Map<Team, number>();
  const tokens = new Map<string, number>();
  const terminatedOf = terminatedPerOrder(w);
  for (const [uid, o] of w.rec.orders)
    allowance.set(o.team, (allowance.get(o.team) ?? 0) + o.maxQuantity + o.freed + (terminatedOf.get(uid) ?? 0));
  for (const e of w.endpoints) {
    for (const o of billed(e)) {
      row.checked++;
      const t = parseToken(o.description);
      const trace = t ? w.rec.orders.get(t.uid) : undefined;
      if (!t || !trace) {
        row.violations.push(
          `${e.name}: order ${o.profileOrderId} (${o.quantity}) names no EsimProfileOrder the harness made`,
        );
        continue;
      }
      billedBy.set(trace.team, (billedBy.get(trace.team) ?? 0) + o.quantity);
      const key = `${t.uid}:${t.sequence}`;
      tokens.set(key, (tokens.get(key) ?? 0) + 1);
      if ((tokens.get(key) ?? 0) > 1)
        row.violations.push(
          `${e.name}: intent ${trace.namespace}/${trace.name} #${t.sequence} billed twice (${o.profileOrderId})`,
        );
    }
  }
  row.note = `billed per team / most wanted: ${[...allowance].map(([t, most]) => `${t} ${billedBy.get(t) ?? 0}/${most}`).join(", ")}`;
  for (const [team, n] of billedBy) {
    const most = allowance.get(team) ?? 0;
    if (n > most)
      row.violations.push(
        `${team}: ${n} profiles billed, at most ${most} wanted (quantities, freed places, terminations)`,
      );
  }
  return row;
}

function terminatedPerOrder(w: World): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of w.endpoints)
    for (const c of e.calls.filter((x) => x.operation === "terminateSim" && ok(x))) {
      const s = w.sim(e, simOfPath(c.path) ?? "");
      const uid = s ? w.orderOf(e, s.iccid) : undefined;
      if (uid) out.set(uid, (out.get(uid) ?? 0) + 1);
    }
  return out;
}

function checkStray(rec: TenantRecord, calls: number): Row[] {
  return [
    {
      invariant: "(e) no request to an endpoint no account names",
      checked: calls + rec.strayRequests.length,
      violations: rec.strayRequests.map((r) => `trap: ${r}`),
    },
    {
      invariant: "(f) tenant writes in the other team's namespace refused",
      checked: rec.crossNamespaceTried,
      violations: rec.crossNamespaceAccepted,
    },
  ];
}

/** judge computes every invariant's row (checked counts what was judged; violations says each in a sentence). */
export function judge(endpoints: readonly Endpoint[], rec: TenantRecord): Row[] {
  const w = new World(endpoints, rec);
  return [
    checkForeignSims(w),
    checkTerminations(w),
    checkSpend(w),
    checkWanted(w),
    ...checkStray(
      rec,
      endpoints.reduce((n, e) => n + e.calls.length, 0),
    ),
  ];
}

/** table renders the rows as a Markdown table, then up to `detail` violations of each. */
export function table(rows: readonly Row[], title: string, detail = 12): string {
  const lines = [title, "", "| Invariant | Checked | Violations |", "|---|---|---|"];
  for (const r of rows) lines.push(`| ${r.invariant} | ${r.checked} | ${r.violations.length} |`);
  for (const r of rows.filter((x) => x.note)) lines.push(`${r.invariant.slice(0, 3)} ${r.note}`);
  for (const r of rows.filter((x) => x.violations.length > 0)) {
    lines.push("", `${r.invariant}:`);
    for (const v of r.violations.slice(0, detail)) lines.push(`  - ${v}`);
    if (r.violations.length > detail) lines.push(`  - … ${r.violations.length - detail} more`);
  }
  return lines.join("\n");
}

export function emptyRecord(accounts: AccountSpend[], implicitEndpoint: string): TenantRecord {
  return {
    orders: new Map(),
    profiles: new Map(),
    seeded: new Map(),
    accounts,
    implicitEndpoint,
    strayRequests: [],
    crossNamespaceAccepted: [],
    crossNamespaceTried: 0,
  };
}
