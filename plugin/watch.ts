import type { EsimProfileOrder } from "../controller/api/types.js";
import { CONDITIONS } from "../controller/api/vocabulary.js";
import type { PluginIo } from "./io.js";
import { durationText } from "./warnings.js";

/**
 * `kubectl esim status -w`: one line per change of an order (its phase, a Soracom order entering or
 * leaving IN_PROGRESS, one passing the stuck threshold), with the time spent In Progress against the
 * vendor's 24 h, after which Soracom advises contacting support (the controller's OrderStuck condition).
 */

/** The vendor's threshold: an order In Progress longer than this is stuck (contact Soracom support). */
export const STUCK_AFTER_MS = 24 * 60 * 60 * 1000;

/** Phases an order rests in: the watch ends once every watched order is in one. */
const AT_REST = new Set(["Completed", "Failed"]);

/** OrderState is what the watch compares between reads: the words it prints. */
export interface OrderState {
  key: string;
  phase: string;
  /** One entry per Soracom order In Progress: its ID, since when, and whether it is past the threshold. */
  inProgress: { id: string; since?: string; stuck: boolean }[];
  stuckCondition: boolean;
}

/** orderState reads what the watch shows of an order at `now`. */
export function orderState(order: EsimProfileOrder, now: Date): OrderState {
  const inProgress = (order.status?.orders ?? []).flatMap((t) => {
    if (t.status !== "IN_PROGRESS") return [];
    const since = t.statusSince;
    const stuck = since !== undefined && now.getTime() - Date.parse(since) > STUCK_AFTER_MS;
    return [{ id: t.profileOrderId ?? `#${t.sequence}`, ...(since ? { since } : {}), stuck }];
  });
  const stuckCondition = (order.status?.conditions ?? []).some(
    (c) => c.type === CONDITIONS.orderStuck && c.status === "True",
  );
  return {
    key: `${order.metadata.namespace}/${order.metadata.name}`,
    phase: order.status?.phase ?? "Pending",
    inProgress,
    stuckCondition,
  };
}

/** fingerprint: what counts as a change (the time In Progress grows every second; it is not a change). */
const fingerprint = (s: OrderState) =>
  JSON.stringify([s.phase, s.inProgress.map((p) => [p.id, p.stuck]), s.stuckCondition]);

/** stateLine is one printed line: the time, the order, its phase, and each Soracom order In Progress. */
export function stateLine(s: OrderState, before: OrderState | undefined, now: Date): string {
  const was = before && before.phase !== s.phase ? ` (was ${before.phase})` : "";
  const parts = s.inProgress.map((p) => {
    if (!p.since) return `Soracom order ${p.id} In Progress`;
    const spent = durationText(now.getTime() - Date.parse(p.since));
    return p.stuck
      ? `Soracom order ${p.id} In Progress for ${spent}: STUCK, past the vendor's 24h; contact Soracom support`
      : `Soracom order ${p.id} In Progress for ${spent} (stuck after 24h)`;
  });
  const time = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  return `${time}  ${s.key}  ${s.phase}${was}${parts.length > 0 ? `; ${parts.join("; ")}` : ""}\n`;
}

/**
 * watchOrders prints every order once, then a line whenever one changes, until every watched order is
 * at rest (Completed or Failed) or the process is interrupted.
 */
export async function watchOrders(
  read: () => Promise<EsimProfileOrder[]>,
  io: PluginIo,
  intervalMs: number,
): Promise<void> {
  const seen = new Map<string, OrderState>();
  for (;;) {
    const orders = await read();
    const now = io.now();
    for (const order of orders) {
      const state = orderState(order, now);
      const before = seen.get(state.key);
      if (!before || fingerprint(before) !== fingerprint(state)) io.stdout(stateLine(state, before, now));
      seen.set(state.key, state);
    }
    if (orders.length > 0 && orders.every((o) => AT_REST.has(o.status?.phase ?? ""))) return;
    await io.sleep(intervalMs);
  }
}
