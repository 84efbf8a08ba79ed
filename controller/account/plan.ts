import type { Condition, SoracomAccount, SoracomAccountStatus } from "../api/types.js";
import { ANNOTATIONS, CONDITIONS, REASONS } from "../api/vocabulary.js";
import type { SpendState, TerminationCheck } from "../budget.js";
import { type ConditionInput, setConditions, toKubeTime } from "../kube/status.js";
import type { PollReport } from "../order/pacing.js";

/**
 * What a SoracomAccount's status says, decided purely from what was observed: whether its credentials
 * log in (Ready), as which Soracom operator, what its budgets have left, which namespaces use it now, and
 * whether a person asked to resume paused terminations (the annotation naming the current pause).
 */

export interface AccountInput {
  account: SoracomAccount;
  now: number;
  credentials: { ok: true; operatorId: string } | { ok: false; reason: string; message: string };
  spend: SpendState & { used: number };
  terminations: TerminationCheck & { used: number };
  namespaces: string[];
  /** This shard's polling of the account ("default" without sharding), when it polled any order. */
  polling?: { shard: string; report: PollReport };
}

export interface AccountPlan {
  status: SoracomAccountStatus;
  /** The pause to lift: the annotation names the current one. */
  resume?: string;
  requeueAfterMs: number;
}

/** How often an account's credentials and budgets are looked at again when nothing changes. */
export const ACCOUNT_RESYNC_MS = 60_000;

export function planAccount(input: AccountInput): AccountPlan {
  const { account, now, credentials } = input;
  const generation = account.metadata.generation ?? 0;
  const pause = input.terminations.paused;
  const resume =
    pause && account.metadata.annotations?.[ANNOTATIONS.resumeTerminations] === pause.id ? pause.id : undefined;
  const conds: ConditionInput[] = credentials.ok
    ? [
        {
          type: CONDITIONS.ready,
          status: "True",
          reason: REASONS.Completed,
          message: `The credentials log in as Soracom operator ${credentials.operatorId}.`,
        },
        { type: CONDITIONS.stalled, status: "False", reason: REASONS.Completed, message: "" },
      ]
    : [
        { type: CONDITIONS.ready, status: "False", reason: credentials.reason, message: credentials.message },
        { type: CONDITIONS.stalled, status: "True", reason: credentials.reason, message: credentials.message },
      ];
  conds.push({ type: CONDITIONS.reconciling, status: "False", reason: REASONS.Completed, message: "" });
  conds.push(
    pause && !resume
      ? {
          type: CONDITIONS.terminationsPaused,
          status: "True",
          reason: REASONS.TerminationBudgetExhausted,
          message: `Terminations are paused since ${toKubeTime(pause.since)}: the termination budget was used up. Resume with: kubectl esim resume ${account.metadata.name} (the annotation ${ANNOTATIONS.resumeTerminations}=${pause.id} on this SoracomAccount).`,
        }
      : { type: CONDITIONS.terminationsPaused, status: "False", reason: REASONS.Completed, message: "" },
  );
  conds.push(ledgerCondition(input));
  const conditions = setConditions(
    account.status?.conditions as Condition[] | undefined,
    conds.map((c) => ({ ...c, observedGeneration: generation })),
    now,
  );
  const window = (ms: number) => `${Math.round(ms / 60_000)}m`;
  return {
    status: {
      observedGeneration: generation,
      ...(credentials.ok ? { operatorId: credentials.operatorId } : {}),
      conditions,
      budgets: {
        spend: {
          ...(input.spend.limit !== null ? { limit: input.spend.limit, remaining: input.spend.remaining ?? 0 } : {}),
          used: input.spend.used,
          window: window(input.spend.windowMs),
        },
        termination: {
          ...(input.terminations.limit !== null
            ? { limit: input.terminations.limit, remaining: pause && !resume ? 0 : (input.terminations.remaining ?? 0) }
            : {}),
          used: input.terminations.used,
          window: window(input.terminations.windowMs),
          ...(pause && !resume ? { pausedSince: toKubeTime(pause.since), pauseId: pause.id } : {}),
        },
      },
      namespaces: [...input.namespaces].sort(),
      ...pollingStatus(account.status?.polling, input.polling),
    },
    ...(resume ? { resume } : {}),
    requeueAfterMs: ACCOUNT_RESYNC_MS,
  };
}

/** ledgerCondition says whether a ledger ConfigMap of the account cannot be parsed (both then refuse). */
function ledgerCondition(input: AccountInput): ConditionInput {
  const broken = [input.spend.unreadable, input.terminations.unreadable].filter((m): m is string => Boolean(m));
  return broken.length > 0
    ? { type: CONDITIONS.ledgerUnreadable, status: "True", reason: REASONS.LedgerUnreadable, message: broken.join(" ") }
    : { type: CONDITIONS.ledgerUnreadable, status: "False", reason: REASONS.Completed, message: "" };
}

/** pollingStatus is status.polling with this shard's entry (other shards write their own). */
function pollingStatus(
  current: SoracomAccountStatus["polling"],
  polling: AccountInput["polling"],
): Pick<SoracomAccountStatus, "polling"> {
  if (!polling) return current ? { polling: current } : {};
  const { report } = polling;
  const mine = {
    ...(report.perMinute !== null ? { callsPerMinute: report.perMinute } : {}),
    ...(report.vendorLimit !== undefined ? { vendorLimitPerMinute: report.vendorLimit } : {}),
    effectiveIntervalSeconds: Math.round(report.effectiveIntervalMs / 1000),
    polls: report.polls,
  };
  return { polling: { ...current, [polling.shard]: mine } };
}
