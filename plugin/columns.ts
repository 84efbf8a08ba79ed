import type { EsimProfile } from "../controller/api/types.js";
import { UsageError } from "./errors.js";

/** ActivationData is what a profile's activation Secret holds (decoded), when it could be read. */
export interface ActivationData {
  activationCode?: string;
  smdpAddress?: string;
  matchingId?: string;
}

/** ExportRow is everything one CSV row may show: the profile and, if readable, its activation data. */
export interface ExportRow {
  profile: EsimProfile;
  activation?: ActivationData;
  /** The owning order's spec.subscription, for profiles whose status does not name the plan. */
  orderSubscription?: string;
}

/** Column is one CSV column: the header people (and scripts) pick it by, and how to fill a cell. */
export interface Column {
  header: string;
  /** True when the cell comes from the activation Secret (read only when such a column is chosen). */
  secret: boolean;
  cell(row: ExportRow): string;
}

/**
 * consoleTime renders a profile time as ISO 8601 in UTC (2026-06-04T09:15:00Z), the form kubectl
 * shows; milliseconds only when the stored time has them. A value that is not a date passes through.
 */
export function consoleTime(value: string | undefined): string {
  if (!value) return "";
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString().replace(/\.000Z$/, "Z");
}

const fromStatus = (pick: (s: NonNullable<EsimProfile["status"]>) => string | undefined) => (row: ExportRow) =>
  (row.profile.status && pick(row.profile.status)) ?? "";

const fromSecret = (key: keyof ActivationData) => (row: ExportRow) => row.activation?.[key] ?? "";

/**
 * COLUMNS: the vendor console's CSV columns, in its order, then the extras this plugin offers.
 * Values are raw (profileStatus exactly as Soracom gives it); SIM ID and IMSI fall back to the spec
 * for profiles a person declared to adopt, whose status may not be filled in yet.
 */
export const COLUMNS: readonly Column[] = [
  { header: "SIM ID", secret: false, cell: (r) => r.profile.status?.simId ?? r.profile.spec.simId ?? "" },
  { header: "IMSI", secret: false, cell: (r) => r.profile.status?.imsi ?? r.profile.spec.imsi ?? "" },
  { header: "Subscription", secret: false, cell: (r) => r.profile.status?.subscription ?? r.orderSubscription ?? "" },
  { header: "SM-DP", secret: true, cell: fromSecret("smdpAddress") },
  { header: "Matching ID", secret: true, cell: fromSecret("matchingId") },
  { header: "Activation Code", secret: true, cell: fromSecret("activationCode") },
  { header: "Profile Status", secret: false, cell: fromStatus((s) => s.profileStatus) },
  { header: "Installed Time", secret: false, cell: fromStatus((s) => consoleTime(s.installedTime)) },
  { header: "Last Modified Time", secret: false, cell: fromStatus((s) => consoleTime(s.lastModifiedTime)) },
  { header: "ICCID", secret: false, cell: (r) => r.profile.status?.iccid ?? r.profile.spec.iccid ?? "" },
  { header: "Profile", secret: false, cell: (r) => r.profile.metadata.name ?? "" },
  { header: "Namespace", secret: false, cell: (r) => r.profile.metadata.namespace ?? "" },
];

/** CONSOLE_COLUMN_COUNT: the first columns of COLUMNS are the console's, exported by default. */
const CONSOLE_COLUMN_COUNT = 9;

/** DEFAULT_COLUMNS are exactly the vendor console's CSV columns. */
export const DEFAULT_COLUMNS: readonly Column[] = COLUMNS.slice(0, CONSOLE_COLUMN_COUNT);

/**
 * selectColumns turns `--columns "ICCID,Activation Code"` into columns, in the order given. Names
 * match case-insensitively and ignore surrounding spaces, because the vendor warns its columns may
 * move and scripts should pick them by name. An unknown or repeated name is a usage error.
 */
export function selectColumns(spec: string | undefined): readonly Column[] {
  if (spec === undefined) return DEFAULT_COLUMNS;
  const names = spec.split(",").map((n) => n.trim());
  if (names.some((n) => n === "")) {
    throw new UsageError(`--columns has an empty name in "${spec}"; valid names: ${validColumnNames()}`);
  }
  const seen = new Set<Column>();
  return names.map((name) => {
    const column = COLUMNS.find((c) => c.header.toLowerCase() === name.toLowerCase());
    if (!column) throw new UsageError(`unknown column "${name}"; valid names: ${validColumnNames()}`);
    if (seen.has(column)) throw new UsageError(`column "${column.header}" is named twice in --columns`);
    seen.add(column);
    return column;
  });
}

/** validColumnNames lists every header, comma-separated, for error messages and --help. */
export function validColumnNames(): string {
  return COLUMNS.map((c) => c.header).join(", ");
}
