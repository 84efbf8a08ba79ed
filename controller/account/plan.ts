import { formatWindow } from "../api/duration.js";
import type { Condition, SoracomAccount, SoracomAccountStatus } from "../api/types.js";
import { ANNOTATIONS, CONDITIONS, REASONS } from "../api/vocabulary.js";
import type { SpendState, TerminationCheck } from "../budget.js";
import { type ConditionInput, setOwnedConditions, toKubeTime } from "../kube/status.js";
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

/**
 * The condition types this planner writes: Ready always, the others only while they are True (kstatus
 * reads an absent Stalled as not stalled), so a False one never stands without a reason and a message.
 */
const OWNED_CONDITIONS: readonly string[] = [
  CONDITIONS.ready,
  CONDITIONS.reconciling,
  CONDITIONS.stalled,
  CONDITIONS.terminationsPaused,
  CONDITIONS.ledgerUnreadable,
];

/** How often an account's credentials and budgets are looked at again when nothing changes. */
export const ACCOUNT_RESYNC_MS = 60_000;

export function planAccount(input: AccountInput): AccountPlan {
  const { account, now, credentials } = input;
  const generation = account.metadata.generation ?? 0;
  const pause = input.terminations.paused;
  const resume =
    pause && account.metadata.annotations?.[ANNOTATIONS.resumeTerminations] === pause.id ? pause.id : undefined;
  const paused = pause && !resume ? pause : undefined;
  const conds: ConditionInput[] = [
    credentials.ok
      ? {
          type: CONDITIONS.ready,
          status: "True",
          reason: REASONS.Completed,
          message: `The credentials log in as Soracom operator ${credentials.operatorId}.`,
        }
      : { type: CONDITIONS.ready, status: "False", reason: credentials.reason, message: credentials.message },
    ...(credentials.ok
      ? []
      : [
          {
            type: CONDITIONS.stalled,
            status: "True" as const,
            reason: credentials.reason,
            message: credentials.message,
          },
        ]),
    ...(paused ? [pausedCondition(account.metadata.name, paused)] : []),
    ...ledgerCondition(input),
  ];
  const conditions = setOwnedConditions(
    account.status?.conditions as Condition[] | undefined,
    conds.map((c) => ({ ...c, observedGeneration: generation })),
    OWNED_CONDITIONS,
    now,
  );
  return {
    status: {
      observedGeneration: generation,
      ...(credentials.ok ? { operatorId: credentials.operatorId } : {}),
      conditions,
      budgets: {
        spend: {
          ...(input.spend.limit !== null ? { limit: input.spend.limit, remaining: input.spend.remaining ?? 0 } : {}),
          used: input.spend.used,
          window: formatWindow(input.spend.windowMs),
        },
        termination: {
          ...(input.terminations.limit !== null
            ? { limit: input.terminations.limit, remaining: paused ? 0 : (input.terminations.remaining ?? 0) }
            : {}),
          used: input.terminations.used,
          window: formatWindow(input.terminations.windowMs),
          ...(paused ? { pausedSince: toKubeTime(paused.since), pauseId: paused.id } : {}),
        },
      },
      namespaces: [...input.namespaces].sort(),
      ...pollingStatus(account.status?.polling, input.polling),
    },
    ...(resume ? { resume } : {}),
    requeueAfterMs: ACCOUNT_RESYNC_MS,
  };
}

/** pausedCondition says since when terminations wait for a person, and the command that resumes them. */
function pausedCondition(name: string, pause: { id: string; since: number }): ConditionInput {
  return {
    type: CONDITIONS.terminationsPaused,
    status: "True",
    reason: REASONS.TerminationBudgetExhausted,
    message: `Terminations are paused since ${toKubeTime(pause.since)}: the termination budget was used up. Check what is being deleted, then resume with: kubectl esim resume ${name} (the annotation ${ANNOTATIONS.resumeTerminations}=${pause.id} on this SoracomAccount).`,
  };
}

/** ledgerCondition is LedgerUnreadable when a ledger ConfigMap of the account cannot be parsed (both then refuse). */
function ledgerCondition(input: AccountInput): ConditionInput[] {
  const broken = [input.spend.unreadable, input.terminations.unreadable].filter((m): m is string => Boolean(m));
  return broken.length > 0
    ? [
        {
          type: CONDITIONS.ledgerUnreadable,
          status: "True",
          reason: REASONS.LedgerUnreadable,
          message: broken.join(" "),
        },
      ]
    : [];
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
