import type { Logger } from "pino";
import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import type { SpendIntent, SpendState, TerminationCheck } from "../budget.js";
import type { EventRecorder } from "../kube/events.js";
import type { ObjectCache } from "../kube/multi.js";
import type { KubeClient } from "../kube/rest.js";
import type { Metrics, OrderStatusTracker } from "../metrics.js";
import type { SoracomClient } from "../soracom/index.js";
import type { Admission, CredentialsState, PlannerConfig } from "./model.js";
import type { PollPacer } from "./pacing.js";

/**
 * The ports of the EsimProfileOrder reconciler: what it needs from the world, as small interfaces.
 * wiring.ts assembles the real ones (informer caches, the Soracom account, ledgers, events, metrics).
 */

/**
 * AccountAccess is one order's Soracom account for one round: the client (when the credentials could be
 * used), the key its answers are remembered under, and the account's durable budgets.
 */
export interface AccountAccess {
  /** Names the account: answers and polls are remembered per account and order, never by order alone. */
  key: string;
  /** The SoracomAccount the order resolves to (undefined: none); bound in status with the first intent. */
  name?: string;
  client?: SoracomClient;
  credentials: CredentialsState;
  spend: {
    state(now: number): SpendState;
    /** Records create intents before they are written and sent; false: they no longer fit the budget. */
    record(intents: readonly SpendIntent[], now: number): Promise<boolean>;
  };
  terminations: {
    check(now: number): TerminationCheck;
    /** Records a termination before it is sent; false: refused (paused, or no budget left). */
    consume(simId: string, now: number): Promise<boolean>;
  };
  /** Soracom refused the credentials this round: forget them, so a fixed Secret is read at once. */
  forget(): void;
  /** The account's own poll budget, calls per minute (undefined: the controller's --soracom-poll-budget). */
  pollBudget?: number | null;
}

/** AccountFor resolves the account an order spends from. */
export type AccountFor = (order: EsimProfileOrder) => Promise<AccountAccess>;

export interface OrderReconcilerDeps {
  kube: KubeClient;
  orders: ObjectCache<EsimProfileOrder>;
  profiles: ObjectCache<EsimProfile>;
  /** Names of activation Secrets that exist, by namespace (a deleted Secret is recreated). */
  secretExists?: (namespace: string, name: string, uid?: string) => boolean;
  /** Grows with every change of the Secrets secretExists reads (absent: secretExists never changes). */
  secretsChangeCount?: () => number;
  accountFor: AccountFor;
  /** Would the apiserver create this order's EsimProfiles now (a dry-run create)? Asked before any create. */
  admitProfiles: (order: EsimProfileOrder) => Promise<Admission>;
  events: EventRecorder;
  metrics: Metrics;
  statusTracker: OrderStatusTracker;
  config: PlannerConfig;
  /** This shard owns the namespace (undefined: every namespace is ours). */
  owns?: (namespace: string) => boolean;
  /** Paces and budgets the polls (shared with the account controller, which reports it). */
  pacer?: PollPacer;
  logger: Logger;
  now?: () => number;
  /** Soracom calls of one kind a round sends at once (main passes --soracom-max-concurrency). */
  soracomParallelism?: number;
  /** Every cache the reconciler reads has synced (main starts workers only then; this is the backstop). */
  synced?: () => boolean;
}
