import type { EsimProfile, EsimProfileOrder } from "../controller/api/types.js";
import { progressBar } from "./progress.js";
import { orderWarnings, type Warning } from "./warnings.js";

/** OrderSummary is what `kubectl esim status` shows for one order; also its JSON/YAML output. */
export interface OrderSummary {
  namespace: string;
  name: string;
  subscription: string;
  speedClass?: string;
  bundles?: string[];
  confirmation: string;
  phase: string;
  desired: number;
  ordered: number;
  drafts: number;
  provisioned: number;
  installed: number;
  activated: number;
  deletedOnDevice: number;
  terminated: number;
  surplus: number;
  warnings: Warning[];
}

/**
 * summarizeOrder reads an order's spec and status, and its profiles' conditions, into the numbers and
 * warnings a person needs.
 */
export function summarizeOrder(order: EsimProfileOrder, profiles: readonly EsimProfile[], now: Date): OrderSummary {
  const t = order.status?.totals ?? {};
  const { speedClass, bundles } = order.spec;
  return {
    namespace: order.metadata.namespace ?? "",
    name: order.metadata.name ?? "",
    subscription: order.spec.subscription,
    ...(speedClass ? { speedClass } : {}),
    ...(bundles && bundles.length > 0 ? { bundles: [...bundles] } : {}),
    confirmation: order.spec.confirmation ?? "Automatic",
    phase: order.status?.phase ?? "Pending",
    desired: order.spec.quantity,
    ordered: t.ordered ?? 0,
    drafts: t.drafts ?? 0,
    provisioned: t.provisioned ?? 0,
    installed: t.installed ?? 0,
    activated: t.activated ?? 0,
    deletedOnDevice: t.deletedOnDevice ?? 0,
    terminated: t.terminated ?? 0,
    surplus: t.surplus ?? 0,
    warnings: orderWarnings({ order, profiles, now }),
  };
}

/** planText: "planX3, speed class s1.fast, bundle X3-5MB": the words the vendor's price list uses. */
export function planText(s: { subscription: string; speedClass?: string; bundles?: readonly string[] }): string {
  const parts = [s.subscription];
  if (s.speedClass) parts.push(`speed class ${s.speedClass}`);
  if (s.bundles && s.bundles.length > 0) parts.push(`bundle ${s.bundles.join(", ")}`);
  return parts.join(", ");
}

const LABEL_WIDTH = 13;
const line = (label: string, value: string) => `${label.padEnd(LABEL_WIDTH)}${value}`;

function countLine(label: string, value: number, desired: number, width: number): string {
  return line(label, `${String(value).padStart(width)}  ${progressBar(value, desired)}`);
}

/** renderOrderTable draws one order as a small two-column table with progress bars against desired. */
export function renderOrderTable(s: OrderSummary): string {
  const width = Math.max(
    3,
    ...[s.desired, s.ordered, s.provisioned, s.installed, s.activated].map((n) => `${n}`.length),
  );
  const lines = [
    line("ORDER", `${s.name} (namespace ${s.namespace})`),
    line("PLAN", `${planText(s)}; confirmation ${s.confirmation}`),
    line("PHASE", s.phase),
    line("DESIRED", String(s.desired).padStart(width)),
    countLine("ORDERED", s.ordered, s.desired, width),
    countLine("PROVISIONED", s.provisioned, s.desired, width),
    countLine("INSTALLED", s.installed, s.desired, width),
    countLine("ACTIVATED", s.activated, s.desired, width),
  ];
  if (s.drafts > 0) lines.push(line("DRAFTS", `${String(s.drafts).padStart(width)}  profiles in draft orders`));
  if (s.deletedOnDevice > 0) lines.push(line("DELETED", `${String(s.deletedOnDevice).padStart(width)}  on device`));
  if (s.terminated > 0) lines.push(line("TERMINATED", String(s.terminated).padStart(width)));
  if (s.surplus > 0) lines.push(line("SURPLUS", `${String(s.surplus).padStart(width)}  above desired, retained`));
  if (s.warnings.length === 0) {
    lines.push(line("WARNINGS", "none"));
  } else {
    lines.push("WARNINGS");
    for (const w of s.warnings)
      lines.push(`  ${w.severity.toUpperCase().padEnd(8)}${w.type}/${w.reason}: ${w.message}`);
  }
  return lines.join("\n");
}

/** renderStatus draws every order, a blank line between them. */
export function renderStatus(summaries: readonly OrderSummary[]): string {
  return `${summaries.map(renderOrderTable).join("\n\n")}\n`;
}
