import type { EsimProfile } from "../controller/api/types.js";
import { LABELS } from "../controller/api/vocabulary.js";
import { mapLimit } from "../controller/concurrency.js";
import { readActivation } from "./activation.js";
import type { Cluster } from "./cluster.js";
import { type Column, type ExportRow, selectColumns, validColumnNames } from "./columns.js";
import { atMostOne, type Command, oneNamespace, type Session, stringValue } from "./command.js";
import { csvDocument } from "./csv.js";
import { EXIT, ForbiddenError } from "./errors.js";

/** Unreadable is a row whose activation cells are left empty, and why. */
export interface Unreadable {
  /** Line in the CSV file, counting the header as line 1 (what a spreadsheet shows). */
  line: number;
  profile: string;
  problem: string;
}

const byNamespaceAndName = (a: EsimProfile, b: EsimProfile) =>
  (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
  (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");

/** orderSubscriptions maps namespace/order name → spec.subscription, for profiles whose status lacks it. */
async function orderSubscriptions(cluster: Cluster, namespace: string | undefined): Promise<Map<string, string>> {
  try {
    const orders = await cluster.listOrders(namespace);
    return new Map(orders.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o.spec.subscription]));
  } catch (err) {
    if (err instanceof ForbiddenError) return new Map(); // a fallback only: the profiles still export
    throw err;
  }
}

/** gatherRows reads the profiles in scope and, only if a chosen column needs it, their activation Secrets. */
export async function gatherRows(
  session: Session,
  order: string | undefined,
  columns: readonly Column[],
): Promise<{ rows: ExportRow[]; unreadable: Unreadable[] }> {
  const { cluster } = session;
  const namespace = session.allNamespaces ? undefined : session.namespace;
  if (order !== undefined) await cluster.getOrder(session.namespace, order); // 404 → not found, exit 4
  const selector = order === undefined ? undefined : `${LABELS.order}=${order}`;
  const profiles = (await cluster.listProfiles(namespace, selector)).sort(byNamespaceAndName);
  const needsPlan = columns.some((c) => c.header === "Subscription") && profiles.some((p) => !p.status?.subscription);
  const plans = needsPlan ? await orderSubscriptions(cluster, namespace) : new Map<string, string>();
  const needsSecrets = columns.some((c) => c.secret);
  const unreadable: Unreadable[] = [];
  // Eight Secrets in flight: quick for a fleet, gentle on the apiserver's priority and fairness.
  const rows = await mapLimit(profiles, 8, async (profile, index): Promise<ExportRow> => {
    const row: ExportRow = { profile };
    const owner = profile.metadata.labels?.[LABELS.order];
    const plan = owner === undefined ? undefined : plans.get(`${profile.metadata.namespace}/${owner}`);
    if (plan !== undefined) row.orderSubscription = plan;
    if (!needsSecrets) return row;
    const read = await readActivation(cluster, profile);
    if (read.ok) row.activation = read.activation;
    else {
      unreadable.push({
        line: index + 2,
        profile: `${profile.metadata.namespace}/${profile.metadata.name}`,
        problem: read.problem,
      });
    }
    return row;
  });
  unreadable.sort((a, b) => a.line - b.line);
  return { rows, unreadable };
}

/** unreadableReport is the stderr note: which rows lack activation data, and why. */
export function unreadableReport(unreadable: readonly Unreadable[], total: number): string {
  const lines = unreadable.map((u) => `  line ${u.line} (${u.profile}): ${u.problem}\n`);
  return `kubectl-esim: ${unreadable.length} of ${total} rows have empty SM-DP, Matching ID and Activation Code cells:\n${lines.join("")}`;
}

export const exportCommand: Command = {
  name: "export",
  summary: "Print the profiles of an order (or all in scope) as the console's CSV",
  options: { columns: { type: "string" } },
  help: `Print eSIM profiles as CSV, with the Soracom console's columns.

Usage:
  kubectl esim export [ORDER] [--columns NAMES] [-n NAMESPACE | -A]

With ORDER, the profiles of that EsimProfileOrder (label esim.soracom-operator.io/order=ORDER);
without, every EsimProfile in the namespace (or in all namespaces with -A).

Columns (default: the console's, in its order):
  SIM ID, IMSI, Subscription, SM-DP, Matching ID, Activation Code, Profile Status,
  Installed Time, Last Modified Time
Extra columns: ICCID, Profile, Namespace.
  --columns NAMES   Comma-separated header names, in the order wanted; case-insensitive.
                    Example: --columns "ICCID,Activation Code". Valid names:
                    ${validColumnNames()}

Values are raw: Profile Status as Soracom gives it (e.g. SUBSCRIBER_REGISTRATION_SUCCEEDED);
times in ISO 8601, UTC (2026-06-04T09:15:00Z). CSV per RFC 4180 (CRLF line ends).

SM-DP, Matching ID and Activation Code come from each profile's activation Secret, read only when
one of those columns is chosen. Where a Secret cannot be read (no permission, not there yet) the
cells are left empty, stderr says which lines and why, and the exit code is 3.

The activation code installs the profile on any device: treat the CSV as a secret.

Exit codes: 0 ok, 1 error, 2 usage, 3 some rows without activation data, 4 order not found.
`,
  async run(ctx) {
    const order = atMostOne(ctx.positionals, "ORDER");
    const columns = selectColumns(stringValue(ctx.values, "columns"));
    const session = await ctx.connect();
    if (order !== undefined) oneNamespace(session, order);
    const { rows, unreadable } = await gatherRows(session, order, columns);
    ctx.io.stdout(
      csvDocument(
        columns.map((c) => c.header),
        rows.map((r) => columns.map((c) => c.cell(r))),
      ),
    );
    if (rows.length === 0) {
      const where = session.allNamespaces ? "any namespace" : `namespace "${session.namespace}"`;
      ctx.io.stderr(`kubectl-esim: no EsimProfiles${order ? ` in order "${order}"` : ""} in ${where}\n`);
    }
    if (unreadable.length === 0) return EXIT.ok;
    ctx.io.stderr(unreadableReport(unreadable, rows.length));
    return EXIT.partial;
  },
};
