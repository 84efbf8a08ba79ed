import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { ANNOTATIONS, GROUP } from "./api/vocabulary.js";
import { isConflict, isNotFound } from "./kube/errors.js";
import type { KubeApi } from "./kube/rest.js";

/**
 * Budgets for money and for what cannot be undone, each kept in a durable ledger: a ConfigMap in the
 * controller's namespace (tenants cannot write there), written before the Soracom call it counts, every
 * write guarded by resourceVersion. Deleting or renaming an EsimProfileOrder frees nothing; a restart
 * reads the ledger again. A budget set to null is unlimited (only when said explicitly) and still recorded.
 * - Spend: profiles ordered per rolling window, one entry per create intent (its token), before the create.
 * - Terminations: SIMs terminated per rolling window, one entry per SIM, before the terminate. Past the
 *   budget, terminations pause until a person resumes them (kubectl esim resume ACCOUNT): an irreversible
 *   action that ran into its limit waits for a look, it does not start again as the window rolls on.
 */

/** The annotation set to the pause's id to resume: on the SoracomAccount, or for the implicit account its ledger. */
export const RESUME_ANNOTATION = ANNOTATIONS.resumeTerminations;

/** How often a paused ledger is read again to see whether a person resumed it. */
const PAUSED_RELOAD_MS = 5_000;

interface ConfigMap {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

/** LedgerApi is what a ledger needs from the apiserver (tests fake it). */
export type LedgerApi = Pick<KubeApi, "request">;

/**
 * ConfigMapStore reads and writes one ConfigMap's data under a resourceVersion guard; a write that
 * conflicts is retried on a fresh read, with the caller's change decided again on what it finds.
 */
class ConfigMapStore {
  private resourceVersion: string | undefined;
  private annotations: Record<string, string> = {};
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly opts: {
      kube: LedgerApi;
      namespace: string;
      name: string;
      kind: string;
      logger?: Logger;
      onWrite?: () => void;
    },
  ) {}

  get ref(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  /** read returns the data and annotations as stored now (empty when the ConfigMap does not exist). */
  async read(): Promise<{ data: Record<string, string>; annotations: Record<string, string> }> {
    try {
      const cm = await this.opts.kube.request<ConfigMap>({ path: this.path() });
      this.resourceVersion = cm.metadata.resourceVersion;
      this.annotations = cm.metadata.annotations ?? {};
      return { data: cm.data ?? {}, annotations: this.annotations };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.resourceVersion = undefined;
      return { data: {}, annotations: {} };
    }
  }

  /**
   * serial runs fn alone (one ledger, one writer at a time in this process); another process writing
   * meanwhile shows as a conflict, and fn runs again on what that process wrote.
   */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** write stores data; a conflict is thrown (the caller reads again and decides again). */
  async write(data: Record<string, string>): Promise<void> {
    const body: ConfigMap & { apiVersion: string; kind: string } = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: this.opts.name,
        namespace: this.opts.namespace,
        labels: { "app.kubernetes.io/managed-by": "soracom-esim-operator", [`${GROUP}/ledger`]: this.opts.kind },
        ...(Object.keys(this.annotations).length > 0 ? { annotations: this.annotations } : {}),
        ...(this.resourceVersion ? { resourceVersion: this.resourceVersion } : {}),
      } as ConfigMap["metadata"],
      data,
    };
    const res = await this.opts.kube.request<ConfigMap>(
      this.resourceVersion
        ? { method: "PUT", path: this.path(), body }
        : { method: "POST", path: this.path(true), body },
    );
    this.resourceVersion = res.metadata.resourceVersion;
    this.opts.onWrite?.();
  }

  /** update reads, lets fn compute the new data (undefined: no write), writes; conflicts are retried. */
  async update<T>(
    fn: (
      data: Record<string, string>,
      annotations: Record<string, string>,
    ) => { data?: Record<string, string>; result: T },
  ): Promise<T> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.read();
      const next = fn(current.data, current.annotations);
      if (!next.data) return next.result;
      try {
        await this.write(next.data);
        return next.result;
      } catch (err) {
        if (!isConflict(err)) throw err;
        this.opts.logger?.debug({ ledger: this.ref }, "ledger write conflict; reading it again");
      }
    }
    throw new Error(`${this.opts.kind} ledger ${this.ref}: too many write conflicts`);
  }

  private path(create = false): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/configmaps`;
    return create ? base : `${base}/${encodeURIComponent(this.opts.name)}`;
  }
}

export interface LedgerOptions {
  limit: number | null;
  windowMs: number;
  kube: LedgerApi;
  namespace: string;
  name: string;
  logger?: Logger;
  now?: () => number;
  /** Called after each write of the ledger's ConfigMap (the account's status reports it at once). */
  onWrite?: () => void;
  /** Where the limit and window are set, as a person finds them (for messages): the account's spec or a flag. */
  source?: string;
}

/** Ledger is what both ledgers share: their budget, window, and the ConfigMap they live in. */
abstract class Ledger {
  protected readonly store: ConfigMapStore;

  constructor(
    protected readonly opts: LedgerOptions,
    kind: string,
  ) {
    this.store = new ConfigMapStore({ ...opts, kind });
  }

  get limit(): number | null {
    return this.opts.limit;
  }

  get windowMs(): number {
    return this.opts.windowMs;
  }

  /** base is what every check reports of the budget: its limit, window, and where they are set. */
  protected get base(): { limit: number | null; windowMs: number; source?: string } {
    const { limit, windowMs, source } = this.opts;
    return source ? { limit, windowMs, source } : { limit, windowMs };
  }

  /** ref is "namespace/name" of the ledger's ConfigMap (for logs and messages). */
  get ref(): string {
    return this.store.ref;
  }
}

/** SpendEntry is one create intent: its token key, its quantity, when it was recorded (Unix ms). */
interface SpendEntry {
  k: string;
  q: number;
  t: number;
}

/** SpendState is what a planner needs of the spend budget. */
export interface SpendState {
  /** Profiles that may still be ordered in the current window; null when the budget is unlimited. */
  remaining: number | null;
  limit: number | null;
  windowMs: number;
  /** Where the limit and window are set (a SoracomAccount's spec, a controller flag), for messages. */
  source?: string;
  /** Set when the ledger's ConfigMap cannot be parsed: nothing is ordered; says which one and how to fix it. */
  unreadable?: string;
}

/**
 * unreadableMessage says which ledger ConfigMap is broken, what is held back, and how a person fixes it.
 * Both ledgers fail closed: a record nobody can read could hide what was spent or terminated.
 */
export function unreadableMessage(kind: "spend" | "termination", ref: string, detail: string): string {
  const [ns, name] = ref.split("/");
  const held = kind === "spend" ? "no profile is ordered" : "no SIM is terminated";
  const shape = kind === "spend" ? '[{"k":token,"q":quantity,"t":unixMs}]' : '[{"s":simId,"t":unixMs}]';
  return (
    `The ${kind} ledger ConfigMap ${ref} cannot be parsed (${detail}), so ${held} until it is fixed. ` +
    `Restore its data.ledger to a JSON array ${shape} (kubectl edit configmap -n ${ns} ${name}), ` +
    "or delete the ConfigMap to start an empty ledger if you know nothing in the window must count."
  );
}

/** SpendIntent is one create a round is about to send. */
export interface SpendIntent {
  /** The intent's token: recording the same token twice counts it once. */
  token: string;
  quantity: number;
}

/**
 * SpendLedger limits profiles ordered per rolling window across every EsimProfileOrder it serves. Each
 * create's intent is recorded here, durably, before its status write and its create: a recorded intent
 * counts for the whole window whatever happens to the order or its resource afterwards.
 */
export class SpendLedger extends Ledger {
  private entries: SpendEntry[] = [];
  private lock: Promise<unknown> = Promise.resolve();
  /** Why the ConfigMap as last read cannot be parsed (then nothing may be ordered). */
  private unreadable: string | undefined;
  private reloading: Promise<void> | undefined;
  private reloadedAt = 0;

  constructor(opts: LedgerOptions) {
    super(opts, "spend");
  }

  /** load reads the ledger (at start); a ledger that cannot be read stops the controller from starting. */
  async load(): Promise<void> {
    this.entries = this.parse((await this.store.read()).data) ?? [];
  }

  /** parse reads the entries, or notes (and logs, once per breakage) that the ledger cannot be parsed. */
  private parse(data: Record<string, string>): SpendEntry[] | undefined {
    const parsed = parseSpend(data);
    const was = this.unreadable;
    this.unreadable = "error" in parsed ? unreadableMessage("spend", this.ref, parsed.error) : undefined;
    if (this.unreadable && this.unreadable !== was) this.opts.logger?.error({ ledger: this.ref }, this.unreadable);
    return "error" in parsed ? undefined : parsed.entries;
  }

  /** used counts profiles recorded within the window. */
  used(now: number): number {
    const since = now - this.opts.windowMs;
    let used = 0;
    for (const e of this.entries) if (e.t > since) used += e.q;
    return used;
  }

  state(now: number): SpendState {
    const base = this.base;
    if (this.unreadable) {
      this.reloadSoon(now); // a person's repair is seen without a restart
      return { ...base, remaining: 0, unreadable: this.unreadable };
    }
    return { ...base, remaining: this.opts.limit === null ? null : Math.max(0, this.opts.limit - this.used(now)) };
  }

  /**
   * record writes these intents to the ledger, all or none: false (and nothing written) when they do not
   * fit in what the budget has left as the ledger stands now. Tokens already recorded count once.
   */
  record(intents: readonly SpendIntent[], now: number): Promise<boolean> {
    return this.store.serial(() =>
      this.store.update((data) => {
        // Unreadable: refuse, and leave the ConfigMap as it is for a person to repair.
        const entries = this.parse(data)?.filter((e) => e.t > now - this.opts.windowMs);
        if (!entries) return { result: false };
        const known = new Set(entries.map((e) => e.k));
        const fresh = intents.filter((i) => !known.has(i.token));
        const adding = fresh.reduce((n, i) => n + i.quantity, 0);
        const used = entries.reduce((n, e) => n + e.q, 0);
        this.entries = entries;
        if (fresh.length === 0) return { result: true };
        if (this.opts.limit !== null && used + adding > this.opts.limit) return { result: false };
        const next = [...entries, ...fresh.map((i) => ({ k: i.token, q: i.quantity, t: now }))];
        this.entries = next;
        return { data: { ledger: JSON.stringify(next) }, result: true };
      }),
    );
  }

  private reloadSoon(now: number): void {
    if (this.reloading || now - this.reloadedAt < PAUSED_RELOAD_MS) return;
    this.reloadedAt = now;
    this.reloading = this.load()
      .catch((err) => this.opts.logger?.warn({ err, ledger: this.ref }, "could not read the spend ledger"))
      .finally(() => {
        this.reloading = undefined;
      });
  }

  /**
   * exclusive runs fn alone: planning, the ledger write and the intent write of one order happen under
   * it, so two orders reconciled at once never both count on the same remaining budget.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

/** parseSpend reads data.ledger; anything but an array of whole entries is an error, never "nothing spent". */
function parseSpend(data: Record<string, string>): { entries: SpendEntry[] } | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(data.ledger ?? "[]");
  } catch (err) {
    return { error: `data.ledger is not JSON: ${(err as Error).message}` };
  }
  if (!Array.isArray(v)) return { error: "data.ledger is not a JSON array" };
  const whole = (e: unknown): e is SpendEntry => {
    const x = e as Partial<SpendEntry> | null;
    return typeof x?.k === "string" && Number.isFinite(x.q) && Number.isFinite(x.t);
  };
  const bad = v.findIndex((e) => !whole(e));
  return bad >= 0 ? { error: `entry ${bad} of data.ledger is not {k, q, t}` } : { entries: v };
}

/**
 * TerminationBudgetExhaustedError: the budget was used up, or terminations are paused, between the
 * plan's check and the termination; the termination waits, as the plan would have had it wait.
 */
export class TerminationBudgetExhaustedError extends Error {
  readonly code = "TERMINATION_BUDGET_EXHAUSTED";
  override name = "TerminationBudgetExhaustedError";
  constructor(readonly simId: string) {
    super(`terminations are paused or the termination budget is used up; SIM ${simId} is not terminated`);
  }
}

/** TerminationCheck is what a planner needs of the termination budget. */
export interface TerminationCheck {
  /** False only while terminations are paused (waiting for a person). */
  allowed: boolean;
  /** Terminations left before the budget is used up (null: unlimited). */
  remaining: number | null;
  /** Set while terminations wait for a person: since when, and how to resume. */
  paused?: TerminationPause;
  limit: number | null;
  windowMs: number;
  /** Where the limit and window are set (a SoracomAccount's spec, a controller flag), for messages. */
  source?: string;
  /** Set when the ledger's ConfigMap cannot be parsed (then paused): which one, and how to fix it. */
  unreadable?: string;
}

/** TerminationPause: terminations stopped at `since` and wait for a person. */
export interface TerminationPause {
  id: string;
  since: number;
  /** The kubectl command that resumes them. */
  resume: string;
}

interface TerminationData {
  entries: Array<{ s: string; t: number }>;
  pause?: { id: string; since: number };
  /** Terminations recorded before this time do not count (a person resumed after a pause). */
  resumedAt?: number;
  /** Why the ConfigMap cannot be parsed; then it is treated as paused (UNREADABLE_PAUSE). */
  unreadable?: string;
}

/** The pause id of a ledger that cannot be parsed: resuming it writes a fresh, empty ledger over it. */
const UNREADABLE_PAUSE = "unreadable";

/**
 * TerminationLedger limits SIM terminations per rolling window. A termination is recorded before it is
 * sent; one that cannot be recorded is not sent. When a termination is wanted and the budget has none
 * left, the ledger records a pause: from then on nothing is terminated, whatever the window does, until
 * a person sets the resume annotation to the pause's id (on the account, or this ledger). Terminations
 * recorded before the resume no longer count, so the person grants a whole new budget, and the next batch
 * past it pauses again.
 */
export class TerminationLedger extends Ledger {
  private data: TerminationData = { entries: [] };
  private reloadedAt = 0;
  private reloading: Promise<void> | undefined;
  /** The SoracomAccount whose ledger this is, when one exists now: the way to resume names it. */
  private readonly account: () => string | undefined;

  constructor(opts: LedgerOptions & { account?: () => string | undefined }) {
    super(opts, "termination");
    this.account = opts.account ?? (() => undefined);
  }

  /** load reads the ledger, and lifts a pause a person resumed (at start, and while paused). */
  async load(): Promise<void> {
    const now = this.now();
    await this.store.serial(() =>
      this.store.update((raw, annotations) => {
        const data = this.parse(raw);
        this.data = data;
        if (!data.pause || annotations[RESUME_ANNOTATION] !== data.pause.id) return { result: undefined };
        const next: TerminationData = { entries: data.entries, resumedAt: now };
        this.data = next;
        this.opts.logger?.warn({ ledger: this.ref, pause: data.pause.id }, "terminations resumed by a person");
        return { data: renderTermination(next), result: undefined };
      }),
    );
    this.reloadedAt = now;
  }

  /**
   * resume lifts the pause whose id a person gave (on the SoracomAccount); another id changes nothing, so an
   * old annotation never lifts a later pause. Terminations recorded before the resume no longer count.
   */
  async resume(id: string): Promise<boolean> {
    const now = this.now();
    return this.store.serial(() =>
      this.store.update((raw) => {
        const data = this.parse(raw);
        this.data = data;
        if (data.pause?.id !== id) return { result: false };
        const next: TerminationData = { entries: data.entries, resumedAt: now };
        this.data = next;
        this.opts.logger?.warn({ ledger: this.ref, pause: id }, "terminations resumed by a person");
        return { data: renderTermination(next), result: true };
      }),
    );
  }

  /** used counts the terminations that count against the budget now (since the window began or the last resume). */
  used(now: number): number {
    return this.counted(this.data, now).length;
  }

  /** check says whether one more termination may happen now; a paused ledger is read again now and then. */
  check(now: number): TerminationCheck {
    const base = this.base;
    const pause = this.data.pause;
    if (pause) {
      this.reloadSoon(now);
      const unreadable = this.data.unreadable ? { unreadable: this.data.unreadable } : {};
      return { ...base, allowed: false, remaining: 0, paused: this.describe(pause), ...unreadable };
    }
    if (this.opts.limit === null) return { ...base, allowed: true, remaining: null };
    // Allowed until paused: the consume that finds no budget left records the pause, so a planner never
    // skips a wanted termination quietly and lets the window reopen the way by itself.
    return { ...base, allowed: true, remaining: Math.max(0, this.opts.limit - this.counted(this.data, now).length) };
  }

  /**
   * consume records one termination before it is sent. false: paused, or no budget left (which pauses
   * terminations from now on). It throws when the ledger cannot be written: a termination that cannot
   * be counted must not happen. A SIM already recorded in the window (its terminate answer was lost) is
   * allowed again without counting twice, pause or not: its termination may already have happened.
   */
  consume(simId: string, now: number): Promise<boolean> {
    const asked = this.now();
    return this.store.serial(() =>
      this.store.update((raw) => {
        // Decided, and stamped, when the ledger is read: a consume that waited its turn (other consumes,
        // the apiserver) would otherwise count from when it was asked and leave the window that early.
        const at = now + Math.max(0, this.now() - asked);
        const data = this.parse(raw);
        this.data = data;
        const counted = this.counted(data, at);
        if (data.entries.some((e) => e.s === simId && e.t > at - this.opts.windowMs)) return { result: true };
        if (data.pause) return { result: false };
        if (this.opts.limit !== null && counted.length >= this.opts.limit) {
          const next: TerminationData = { ...data, pause: { id: pauseId(at), since: at } };
          this.data = next;
          this.opts.logger?.warn({ ledger: this.ref, simId }, "termination budget used up: terminations paused");
          return { data: renderTermination(next), result: false };
        }
        const next: TerminationData = {
          ...data,
          entries: [...data.entries.filter((e) => e.t > at - this.opts.windowMs), { s: simId, t: at }],
        };
        this.data = next;
        return { data: renderTermination(next), result: true };
      }),
    );
  }

  /** parse reads the ledger; one that cannot be parsed is paused, with a message logged once per breakage. */
  private parse(raw: Record<string, string>): TerminationData {
    const data = parseTermination(raw);
    if (!data.unreadable) return data;
    const message = unreadableMessage("termination", this.ref, data.unreadable);
    if (this.data.unreadable !== message) this.opts.logger?.error({ ledger: this.ref }, message);
    return { ...data, unreadable: message };
  }

  /** counted: terminations in the window, recorded since the last resume (the resume's own moment included). */
  private counted(data: TerminationData, now: number) {
    const resumed = data.resumedAt ?? Number.NEGATIVE_INFINITY;
    return data.entries.filter((e) => e.t > now - this.opts.windowMs && e.t >= resumed);
  }

  /**
   * describe says how to resume: `kubectl esim resume ACCOUNT`, which sets the annotation on the
   * SoracomAccount; without one (the controller's own credentials), the annotation on this ledger.
   */
  private describe(pause: { id: string; since: number }): TerminationPause {
    const account = this.account();
    if (account) {
      return {
        ...pause,
        resume: `kubectl esim resume ${account} (the annotation ${RESUME_ANNOTATION}=${pause.id} on SoracomAccount ${account})`,
      };
    }
    const [ns, name] = this.ref.split("/");
    return {
      ...pause,
      resume: `kubectl annotate configmap -n ${ns} ${name} ${RESUME_ANNOTATION}=${pause.id} --overwrite`,
    };
  }

  private reloadSoon(now: number): void {
    if (this.reloading || now - this.reloadedAt < PAUSED_RELOAD_MS) return;
    this.reloading = this.load()
      .catch((err) => this.opts.logger?.warn({ err, ledger: this.ref }, "could not read the termination ledger"))
      .finally(() => {
        this.reloading = undefined;
      });
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

function pauseId(now: number): string {
  return `${new Date(now).toISOString().replace(/[-:]|\.\d{3}/g, "")}-${randomBytes(3).toString("hex")}`;
}

/**
 * parseTermination reads the ledger. One nobody can read (not JSON, not an array, an entry without a SIM
 * ID and a time) must not let terminations through: it is treated as paused, with the reason.
 */
function parseTermination(data: Record<string, string>): TerminationData {
  try {
    const raw = JSON.parse(data.ledger ?? "[]") as unknown;
    if (!Array.isArray(raw)) return unreadableTermination("data.ledger is not a JSON array");
    const entries = (raw as Array<{ s?: unknown; simId?: unknown; t?: unknown; at?: unknown } | null>).map((e) => ({
      s: String(e?.s ?? e?.simId ?? ""),
      t: Number(e?.t ?? e?.at),
    }));
    const bad = entries.findIndex((e) => !e.s || !Number.isFinite(e.t));
    if (bad >= 0) return unreadableTermination(`entry ${bad} of data.ledger is not {s, t}`);
    const pause = data.pause ? (JSON.parse(data.pause) as { id: string; since: number }) : undefined;
    const resumedAt = data.resumedAt ? Number(data.resumedAt) : undefined;
    return { entries, ...(pause?.id ? { pause } : {}), ...(Number.isFinite(resumedAt) ? { resumedAt } : {}) };
  } catch (err) {
    return unreadableTermination(`not JSON: ${(err as Error).message}`);
  }
}

function unreadableTermination(detail: string): TerminationData {
  return { entries: [], pause: { id: UNREADABLE_PAUSE, since: 0 }, unreadable: detail };
}

function renderTermination(d: TerminationData): Record<string, string> {
  return {
    ledger: JSON.stringify(d.entries),
    ...(d.pause ? { pause: JSON.stringify(d.pause) } : {}),
    ...(d.resumedAt !== undefined ? { resumedAt: String(d.resumedAt) } : {}),
  };
}
