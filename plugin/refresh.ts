import type { EsimProfileOrder } from "../controller/api/types.js";
import { ANNOTATIONS, LABELS, ORDER_KIND } from "../controller/api/vocabulary.js";
import type { Cluster } from "./cluster.js";
import { type Command, exactlyOne, oneNamespace } from "./command.js";
import { writeAnnotation } from "./confirm.js";
import { EXIT, NotFoundError, UsageError } from "./errors.js";
import { suggestName } from "./suggest.js";

/**
 * orderToRefresh finds the order a refresh of NAME polls: the order itself, or the order a profile
 * came from (a profile's Soracom state is read by its order's polls).
 */
async function orderToRefresh(
  cluster: Cluster,
  namespace: string,
  name: string,
): Promise<{ order: EsimProfileOrder; via?: string }> {
  try {
    return { order: await cluster.getOrder(namespace, name) };
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  let profile: Awaited<ReturnType<Cluster["getProfile"]>>;
  try {
    profile = await cluster.getProfile(namespace, name);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    const hint = await suggestName(cluster, namespace, name);
    throw new NotFoundError(`no EsimProfileOrder or EsimProfile "${name}" in namespace "${namespace}"${hint}`);
  }
  const order = profile.metadata.labels?.[LABELS.order];
  if (!order) {
    throw new UsageError(
      `EsimProfile "${name}" belongs to no order (adopted): no order's polls read it; the controller reads its SIM when the profile's spec asks for a change`,
    );
  }
  return { order: await cluster.getOrder(namespace, order), via: name };
}

export const refreshCommand: Command = {
  name: "refresh",
  summary: "Ask the controller to poll Soracom now for an order or a profile (reads only)",
  options: {},
  help: `Ask the controller to poll Soracom now for an order, or for the order a profile came from.

Usage:
  kubectl esim refresh ORDER|PROFILE [-n NAMESPACE]

Sets the annotation ${ANNOTATIONS.requestedAt} on the EsimProfileOrder to the current time. The
controller acts on each new value once (status.lastHandledRequestedAt shows the last one): the order's
Soracom polls (its status while in flight; its profile list, which carries device events such as a
profile deleted on its device, once completed) move to the first free slot of the account's poll budget,
instead of waiting for --poll-interval-active or --poll-interval-stable. A refresh only reads: it never
creates, confirms or terminates anything. An RefreshRequested Event says when the polls come due.

Exit codes: 0 asked, 1 error, 2 usage, 4 not found.
`,
  async run(ctx) {
    const name = exactlyOne(ctx.positionals, "ORDER or PROFILE");
    const session = await ctx.connect();
    const namespace = oneNamespace(session, name);
    const { order, via } = await orderToRefresh(session.cluster, namespace, name);
    const value = ctx.io.now().toISOString();
    const orderName = order.metadata.name ?? "";
    await writeAnnotation(
      session.cluster,
      ORDER_KIND,
      order,
      ANNOTATIONS.requestedAt,
      () => value,
      () => session.cluster.getOrder(namespace, orderName),
    );
    const what = via ? `EsimProfile ${via} is read by the polls of its order ${orderName}: asked` : "Asked";
    ctx.io.stdout(
      `${what} for a poll now: ${ANNOTATIONS.requestedAt}=${value} on EsimProfileOrder ${namespace}/${orderName}\nThe controller polls within the account's poll budget; follow with: kubectl esim status ${orderName} -n ${namespace} -w\n`,
    );
    return EXIT.ok;
  },
};
