import type { Logger } from "pino";
import type { EsimProfileOrder } from "./api/types.js";
import { isConflict, isNotFound } from "./kube/errors.js";
import type { KubeClient } from "./kube/rest.js";

/**
 * Controller-wide budgets: how many profiles may be ordered, and how many SIMs terminated, per rolling
 * window. Both survive restarts. Spend is derived from the orders' own status (every order created, with
 * its time and quantity, is recorded there before the create call); terminations are recorded in a
 * ConfigMap before each terminate call. A budget set to null is unlimited, only when said explicitly.
 */

const COUNTED = new Set(["Pending", "DRAFT", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "FAILED"]);

/** SpendBudget limits profiles ordered per window across every EsimProfileOrder. */
export class SpendBudget {
  private readonly reservations = new Map<string, { quantity: number; at: number }>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly limit: number | null,
    readonly windowMs: number,
    private readonly listOrders: () => readonly EsimProfileOrder[],
  ) {}

  /** used counts profiles in orders created within the window (drafts included until they expire or are cancelled). */
  used(now: number): number {
    const since = now - this.windowMs;
    const seen = new Set<string>();
    let used = 0;
    for (const o of this.listOrders()) {
      for (const t of o.status?.orders ?? []) {
        seen.add(t.token);
        const at = Date.parse(t.orderedTime ?? t.createRequestedTime ?? "");
        if (COUNTED.has(t.status ?? "") && at >= since) used += t.quantity;
      }
    }
    for (const [token, r] of this.reservations) {
      if (seen.has(token) || r.at < since) this.reservations.delete(token);
      else used += r.quantity;
    }
    return used;
  }

  /** state is what a planner needs: the remaining allowance (null when unlimited). */
  state(now: number): { remaining: number | null; limit: number | null; windowMs: number } {
    return {
      remaining: this.limit === null ? null : Math.max(0, this.limit - this.used(now)),
      limit: this.limit,
      windowMs: this.windowMs,
    };
  }

  /** reserve counts orders recorded in a status the cache may not have seen yet. */
  reserve(token: string, quantity: number, now: number): void {
    this.reservations.set(token, { quantity, at: now });
  }

  /**
   * exclusive runs fn alone: planning an order and writing its intent happen under it, so two orders
   * reconciled at once cannot both spend the same remaining budget.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/**
 * TerminationBudgetExhaustedError: the budget was used up between the plan's check and the termination
 * (another reconcile took the last slot); the termination waits, as the plan would have had it wait.
 */
export class TerminationBudgetExhaustedError extends Error {
  readonly code = "TERMINATION_BUDGET_EXHAUSTED";
  override name = "TerminationBudgetExhaustedError";
  constructor(readonly simId: string) {
    super(`the termination budget was used up before SIM ${simId} could be terminated; it waits for the window`);
  }
}

export interface TerminationCheck {
  allowed: boolean;
  remaining: number | null;
  retryAfterMs: number;
}

interface LedgerEntry {
  simId: string;
  at: number;
}

/** TerminationBudget limits SIM terminations per window, with a ledger kept in a ConfigMap. */
export class TerminationBudget {
  private entries: LedgerEntry[] = [];
  private resourceVersion: string | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly opts: {
      limit: number | null;
      windowMs: number;
      kube?: KubeClient;
      namespace: string;
      name: string;
      logger?: Logger;
    },
  ) {}

  get limit(): number | null {
    return this.opts.limit;
  }

  get windowMs(): number {
    return this.opts.windowMs;
  }

  /** load reads the ledger (at start, and again on a write conflict). */
  async load(): Promise<void> {
    if (!this.opts.kube) return;
    try {
      const cm = await this.opts.kube.request<{ metadata: { resourceVersion: string }; data?: Record<string, string> }>(
        {
          path: this.path(),
        },
      );
      this.resourceVersion = cm.metadata.resourceVersion;
      this.entries = JSON.parse(cm.data?.ledger ?? "[]") as LedgerEntry[];
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.resourceVersion = undefined;
      this.entries = [];
    }
  }

  /** check says whether one more termination fits now, and if not, when the oldest one leaves the window. */
  check(now: number): TerminationCheck {
    if (this.opts.limit === null) return { allowed: true, remaining: null, retryAfterMs: 0 };
    const inWindow = this.entries.filter((e) => e.at > now - this.opts.windowMs).sort((a, b) => a.at - b.at);
    const remaining = Math.max(0, this.opts.limit - inWindow.length);
    const oldest = inWindow[0];
    return {
      allowed: remaining > 0,
      remaining,
      retryAfterMs: remaining > 0 || !oldest ? 0 : oldest.at + this.opts.windowMs - now + 1_000,
    };
  }

  /**
   * consume records one termination before it is attempted. It throws when the ledger cannot be written:
   * a termination that cannot be counted must not happen. `force` records past the limit (an explicit
   * override by annotation).
   */
  consume(simId: string, now: number, force = false): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      for (let attempt = 0; attempt < 5; attempt++) {
        // A SIM already counted in the window (its terminate answer was lost) is allowed again, budget or not.
        if (this.entries.some((e) => e.simId === simId && e.at > now - this.opts.windowMs)) return true;
        if (!force && !this.check(now).allowed) return false;
        const next = [...this.entries.filter((e) => e.at > now - this.opts.windowMs), { simId, at: now }];
        try {
          await this.write(next);
          this.entries = next;
          return true;
        } catch (err) {
          if (!isConflict(err)) throw err;
          await this.load();
        }
      }
      throw new Error("termination ledger: too many write conflicts");
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  private path(create = false): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/configmaps`;
    return create ? base : `${base}/${encodeURIComponent(this.opts.name)}`;
  }

  private async write(entries: LedgerEntry[]): Promise<void> {
    if (!this.opts.kube) return;
    const body = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: this.opts.name,
        namespace: this.opts.namespace,
        labels: { "app.kubernetes.io/managed-by": "soracom-esim-operator" },
        ...(this.resourceVersion ? { resourceVersion: this.resourceVersion } : {}),
      },
      data: { ledger: JSON.stringify(entries) },
    };
    const res = await this.opts.kube.request<{ metadata: { resourceVersion: string } }>(
      this.resourceVersion
        ? { method: "PUT", path: this.path(), body }
        : { method: "POST", path: this.path(true), body },
    );
    this.resourceVersion = res.metadata.resourceVersion;
  }
}
