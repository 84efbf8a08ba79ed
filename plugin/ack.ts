import { splitList } from "../controller/api/annotations.js";
import type { EsimProfileOrder } from "../controller/api/types.js";
import { ANNOTATIONS, ORDER_KIND } from "../controller/api/vocabulary.js";
import { mergeApproved } from "./approve-plan.js";
import { type Command, namedOrder } from "./command.js";
import { confirmWithPerson, writeAnnotation } from "./confirm.js";
import { EXIT } from "./errors.js";

/** failedUnacknowledged: the FAILED Soracom orders of an order nobody has acknowledged yet. */
export function failedUnacknowledged(order: EsimProfileOrder): { id: string; quantity: number; since?: string }[] {
  const acknowledged = new Set(splitList(order.metadata.annotations?.[ANNOTATIONS.acknowledgeFailed]));
  return (order.status?.orders ?? []).flatMap((t) =>
    t.status === "FAILED" && t.profileOrderId && !acknowledged.has(t.profileOrderId)
      ? [{ id: t.profileOrderId, quantity: t.quantity, ...(t.statusSince ? { since: t.statusSince } : {}) }]
      : [],
  );
}

export const ackCommand: Command = {
  name: "ack",
  summary: "Acknowledge an order's FAILED Soracom orders, so ordering resumes (spends money)",
  options: { yes: { type: "boolean", short: "y" }, "dry-run": { type: "boolean" } },
  help: `Acknowledge the FAILED Soracom orders of an EsimProfileOrder.

Usage:
  kubectl esim ack ORDER [--yes] [--dry-run] [-n NAMESPACE]

A Soracom order that ended FAILED stops the EsimProfileOrder (Stalled, reason OrderFailed): no new
Soracom order is created until a person has looked. Ask Soracom why it failed first. Acknowledging adds
the FAILED profileOrderIds to the annotation ${ANNOTATIONS.acknowledgeFailed}; the controller then
orders what is still missing, which spends money.

  -y, --yes      Do not ask (needed when stdin is not a terminal).
  --dry-run      Show what would be acknowledged; change nothing.

Exit codes: 0 acknowledged (or nothing to acknowledge), 1 error or answered no, 2 usage or no terminal
without --yes, 4 order not found.
`,
  async run(ctx) {
    const { name, namespace, session, order } = await namedOrder(ctx);
    const failed = failedUnacknowledged(order);
    if (failed.length === 0) {
      ctx.io.stdout(`Nothing to acknowledge: ${namespace}/${name} has no FAILED Soracom order waiting for a person.\n`);
      return EXIT.ok;
    }
    const lines = failed.map(
      (f) => `  ${f.id}  ${f.quantity} profile${f.quantity === 1 ? "" : "s"}, FAILED${f.since ? ` since ${f.since}` : ""}`,
    );
    ctx.io.stdout(`Acknowledge ${failed.length} FAILED Soracom order(s) of ${namespace}/${name}:\n${lines.join("\n")}\n`);
    if (ctx.values["dry-run"] === true) {
      ctx.io.stdout("Dry run: nothing changed.\n");
      return EXIT.ok;
    }
    const question = "The controller then orders the missing profiles again, which spends money. Acknowledge?";
    await confirmWithPerson(ctx.io, ctx.values.yes === true, question, "acknowledge");
    const ids = failed.map((f) => f.id);
    const patched = await writeAnnotation(
      session.cluster,
      ORDER_KIND,
      order,
      ANNOTATIONS.acknowledgeFailed,
      (current) => mergeApproved(current, ids),
      () => session.cluster.getOrder(namespace, name),
    );
    const value = patched.metadata.annotations?.[ANNOTATIONS.acknowledgeFailed] ?? "";
    ctx.io.stdout(
      `Acknowledged: ${ANNOTATIONS.acknowledgeFailed}=${value}\nFollow with: kubectl esim status ${name} -n ${namespace} -w\n`,
    );
    return EXIT.ok;
  },
};
