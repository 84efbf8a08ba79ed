import { stringify } from "yaml";
import type { EsimProfile } from "../controller/api/types.js";
import { LABELS } from "../controller/api/vocabulary.js";
import { atMostOne, type Command, oneNamespace, type Session, stringValue } from "./command.js";
import { EXIT, ForbiddenError, UsageError } from "./errors.js";
import type { PluginIo } from "./io.js";
import { renderStatus, summarizeOrder } from "./status-view.js";
import { watchOrders } from "./watch.js";

const OUTPUTS = ["table", "json", "yaml"] as const;
type Output = (typeof OUTPUTS)[number];

function outputOf(value: string | undefined): Output {
  const output = value ?? "table";
  if (!(OUTPUTS as readonly string[]).includes(output)) {
    throw new UsageError(`--output must be one of ${OUTPUTS.join(", ")}, not "${output}"`);
  }
  return output as Output;
}

const DEFAULT_INTERVAL_MS = 10_000;

/** intervalOf reads --interval (5s, 1m, 500ms; a bare number is seconds), at least one second. */
function intervalOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  const ms = m ? Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 }[m[2] ?? "s"] ?? 1000) : Number.NaN;
  if (!(ms >= 1000)) throw new UsageError(`--interval must be a duration of at least 1s (e.g. 5s, 1m), not "${value}"`);
  return ms;
}

export const statusCommand: Command = {
  name: "status",
  summary: "Show each order's progress and what needs attention",
  options: { output: { type: "string", short: "o" }, watch: { type: "boolean", short: "w" }, interval: { type: "string" } },
  help: `Show the progress of EsimProfileOrders and what needs attention.

Usage:
  kubectl esim status [ORDER] [-o table|json|yaml] [-n NAMESPACE | -A]
  kubectl esim status [ORDER] -w [--interval 10s] [-n NAMESPACE | -A]

For each order: desired quantity, then ordered, provisioned, installed and activated profiles with
progress bars against desired, and the phase. Warnings come from the conditions of the order and
of its EsimProfiles:
  Stalled (OrderFailed, BudgetExceeded, CredentialsNotFound, CredentialsInvalid, ...): needs a person
  OrderStuck           a Soracom order has been IN_PROGRESS too long
  DraftExpiring        Soracom cancels a draft soon unless it is confirmed
  AwaitingConfirmation drafts wait for kubectl esim approve
  DeletedOnDevice      profiles deleted on their device are still billing
  TerminationsPaused   the termination budget is spent
  ScaleDownBlocked     lowering quantity left profiles in place

  -o, --output   table (default), json or yaml.
  -w, --watch    Print each order's phase, then one line per change as it happens: phase changes, and
                 each Soracom order In Progress with the time spent so far against the vendor's 24h
                 (past it, the order is stuck: contact Soracom support). Ends when every watched order
                 is Completed or Failed; Ctrl-C ends it sooner.
  --interval     How often -w reads the orders (default 10s; e.g. 5s, 1m).

Exit codes: 0 ok, 1 error, 2 usage, 4 order not found.
`,
  async run(ctx) {
    const name = atMostOne(ctx.positionals, "ORDER");
    const output = outputOf(stringValue(ctx.values, "output"));
    const interval = intervalOf(stringValue(ctx.values, "interval"));
    if (ctx.values.watch !== true && interval !== undefined) throw new UsageError("--interval goes with -w");
    if (ctx.values.watch === true && stringValue(ctx.values, "output") !== undefined) {
      throw new UsageError("-w prints lines as orders change; it takes no -o");
    }
    const session = await ctx.connect();
    if (ctx.values.watch === true) {
      const read = async () =>
        name !== undefined
          ? [await session.cluster.getOrder(oneNamespace(session, name), name)]
          : await session.cluster.listOrders(session.allNamespaces ? undefined : session.namespace);
      await watchOrders(read, ctx.io, interval ?? DEFAULT_INTERVAL_MS);
      return EXIT.ok;
    }
    const { cluster } = session;
    const scope = session.allNamespaces ? undefined : session.namespace;
    const orders =
      name !== undefined
        ? [await cluster.getOrder(oneNamespace(session, name), name)]
        : await cluster.listOrders(scope);
    const profiles = await profilesByOrder(session, name, ctx.io);
    const now = ctx.io.now();
    const summaries = orders
      .map((o) => summarizeOrder(o, profiles.get(`${o.metadata.namespace}/${o.metadata.name}`) ?? [], now))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    if (output === "json") ctx.io.stdout(`${JSON.stringify({ orders: summaries }, null, 2)}\n`);
    else if (output === "yaml") ctx.io.stdout(stringify({ orders: summaries }));
    else if (summaries.length === 0) {
      const where = session.allNamespaces ? "any namespace" : `namespace "${session.namespace}"`;
      ctx.io.stderr(`No EsimProfileOrders found in ${where}.\n`);
    } else ctx.io.stdout(renderStatus(summaries));
    return EXIT.ok;
  },
};

/**
 * profilesByOrder groups the profiles in scope by "namespace/order" (their order label), for the
 * conditions the controller sets per profile (DeletedOnDevice, TerminationsPaused). Someone who may
 * read orders but not profiles still gets the orders' status, with a note.
 */
async function profilesByOrder(session: Session, order: string | undefined, io: PluginIo) {
  const byOrder = new Map<string, EsimProfile[]>();
  const scope = session.allNamespaces ? undefined : session.namespace;
  let profiles: EsimProfile[];
  try {
    profiles = await session.cluster.listProfiles(scope, order === undefined ? undefined : `${LABELS.order}=${order}`);
  } catch (err) {
    if (!(err instanceof ForbiddenError)) throw err;
    io.stderr(`kubectl-esim: profile warnings left out: ${err.message}\n`);
    return byOrder;
  }
  for (const p of profiles) {
    const owner = p.metadata.labels?.[LABELS.order];
    if (owner === undefined) continue;
    const key = `${p.metadata.namespace}/${owner}`;
    byOrder.set(key, [...(byOrder.get(key) ?? []), p]);
  }
  return byOrder;
}
