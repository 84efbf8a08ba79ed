import type { EsimProfileOrder } from "../controller/api/types.js";
import { ANNOTATIONS, ORDER_KIND } from "../controller/api/vocabulary.js";
import { type ApprovalPlan, approvalSentence, mergeApproved, planApproval } from "./approve-plan.js";
import type { Cluster } from "./cluster.js";
import { type Command, namedOrder } from "./command.js";
import { confirmWithPerson, writeAnnotation } from "./confirm.js";
import { EXIT } from "./errors.js";
import { durationText } from "./warnings.js";

/**
 * writeApproval adds exactly the shown IDs to the approve annotation, guarded by resourceVersion: a
 * concurrent edit of the annotation is never lost (on a conflict it reads again and merges again; the IDs
 * stay the ones the person saw).
 */
export function writeApproval(cluster: Cluster, order: EsimProfileOrder, ids: readonly string[]) {
  const namespace = order.metadata.namespace ?? "";
  const name = order.metadata.name ?? "";
  return writeAnnotation(
    cluster,
    ORDER_KIND,
    order,
    ANNOTATIONS.approveOrders,
    (current) => mergeApproved(current, ids),
    () => cluster.getOrder(namespace, name),
  );
}

function describePlan(plan: ApprovalPlan, order: EsimProfileOrder, now: Date): string {
  const lines = [`${approvalSentence(plan)}`, `Order: ${order.metadata.namespace}/${order.metadata.name}`];
  if (plan.expiresTime) {
    const left = Date.parse(plan.expiresTime) - now.getTime();
    const when = left > 0 ? `in ${durationText(left)}` : "now";
    lines.push(`Soracom cancels the oldest draft ${when} (${plan.expiresTime}) unless it is confirmed.`);
  }
  if (plan.alreadyApproved.length > 0) lines.push(`Already approved earlier: ${plan.alreadyApproved.join(", ")}`);
  return `${lines.join("\n")}\n`;
}

export const approveCommand: Command = {
  name: "approve",
  summary: "Approve the draft orders of a manual-confirmation order (spends money)",
  options: { yes: { type: "boolean", short: "y" }, "dry-run": { type: "boolean" } },
  help: `Approve the Soracom draft orders an EsimProfileOrder (confirmation: Manual) waits on.

Usage:
  kubectl esim approve ORDER [--yes] [--dry-run] [-n NAMESPACE]

Reads status.pendingApproval and shows what confirming would spend (draft orders, profiles, plan),
then asks y/N. On yes it adds exactly those profileOrderIds to the annotation
${ANNOTATIONS.approveOrders}; the controller then confirms them at Soracom.
Confirming an order charges the initial fee of every profile in it and cannot be undone.

  -y, --yes      Do not ask (needed when stdin is not a terminal).
  --dry-run      Show what would be approved; change nothing.

Exit codes: 0 approved (or nothing to approve), 1 error or answered no, 2 usage or no terminal
without --yes, 4 order not found.
`,
  async run(ctx) {
    const { name, namespace, session, order } = await namedOrder(ctx);
    const plan = planApproval(order);
    if (!plan) {
      const manual = order.spec.confirmation === "Manual" ? "" : " (its confirmation is Automatic)";
      ctx.io.stdout(`Nothing to approve: ${namespace}/${name} has no draft orders awaiting approval${manual}.\n`);
      return EXIT.ok;
    }
    ctx.io.stdout(describePlan(plan, order, ctx.io.now()));
    if (plan.alreadyApproved.length === plan.ids.length) {
      ctx.io.stdout("All of them are already approved; the controller confirms them next.\n");
      return EXIT.ok;
    }
    if (ctx.values["dry-run"] === true) {
      ctx.io.stdout("Dry run: nothing changed.\n");
      return EXIT.ok;
    }
    await confirmWithPerson(ctx.io, ctx.values.yes === true, "Confirming spends money. Approve?", "approve");
    const patched = await writeApproval(session.cluster, order, plan.ids);
    const value = patched.metadata.annotations?.[ANNOTATIONS.approveOrders] ?? "";
    ctx.io.stdout(
      `Approved: ${ANNOTATIONS.approveOrders}=${value}\nThe controller confirms them next; follow with: kubectl esim status ${name} -n ${namespace}\n`,
    );
    return EXIT.ok;
  },
};
