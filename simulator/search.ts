import type { ApiHandler } from "./context.js";
import { invalidParameter } from "./errors.js";
import { nextPageHeaders } from "./paging.js";
import { renderSim } from "./render.js";
import type { SimRecord } from "./state.js";

/**
 * GET /v1/query/sims as the spec describes it: partial, case-insensitive matching; comma-separated
 * values (each at least 2 characters); AND across parameters unless search_type=or; `subscription`
 * matches exactly. Pages are ordered by SIM ID and keyed by the last SIM ID. Callers looking for one
 * ICCID must still filter exactly, as with the real API.
 */

type Field = (sim: SimRecord) => string[];

const FIELDS: Record<string, Field> = {
  name: (s) => (s.tags.name !== undefined ? [s.tags.name] : []),
  // Groups are not modelled by name; the group ID stands in for it.
  group: (s) => (s.groupId ? [s.groupId] : []),
  group_id: (s) => (s.groupId ? [s.groupId] : []),
  sim_id: (s) => [s.simId],
  imsi: (s) => [s.imsi],
  msisdn: () => [],
  iccid: (s) => [s.iccid],
  serial_number: () => [],
  tag: (s) => Object.values(s.tags),
  bundles: (s) => s.bundles,
  status: (s) => [s.status],
  subscription: (s) => [s.subscription],
  module_type: (s) => [s.moduleType],
};

const EXACT = new Set(["subscription"]);

interface Criterion {
  param: string;
  values: string[];
}

function criteria(query: Record<string, unknown>): Criterion[] {
  const out: Criterion[] = [];
  for (const param of Object.keys(FIELDS)) {
    const raw = query[param] as string[] | undefined;
    if (!raw || raw.length === 0) continue;
    const values = raw.flatMap((v) => v.split(",")).map((v) => v.toLowerCase());
    const short = values.find((v) => v.length < 2);
    if (short !== undefined) throw invalidParameter(`query.${param} search values must be at least 2 characters`);
    out.push({ param, values });
  }
  return out;
}

function matches(sim: SimRecord, c: Criterion): boolean {
  const have = FIELDS[c.param]!(sim).map((v) => v.toLowerCase());
  const exact = EXACT.has(c.param);
  return c.values.some((want) => have.some((h) => (exact ? h === want : h.includes(want))));
}

const searchSims: ApiHandler = (ctx) => {
  const limit = (ctx.query.limit as number | undefined) ?? 10;
  if (limit < 1) throw invalidParameter("query.limit must be >= 1");
  const after = ctx.query.last_evaluated_key as string | undefined;
  const all = criteria(ctx.query);
  const or = ctx.query.search_type === "or";
  const online = ctx.query.session_status === "ONLINE";
  const found = Object.values(ctx.state.sims)
    .filter((s) => s.createdTime + ctx.config.searchVisibilityDelayMs <= ctx.now)
    .filter(() => !online) // no simulated SIM has a session
    .filter((s) => all.length === 0 || (or ? all.some((c) => matches(s, c)) : all.every((c) => matches(s, c))))
    .sort((a, b) => (a.simId < b.simId ? -1 : 1))
    .filter((s) => after === undefined || s.simId > after);
  const page = found.slice(0, limit);
  const headers = found.length > limit ? nextPageHeaders("/v1/query/sims", ctx.query, page.at(-1)!.simId) : {};
  return { status: 200, body: page.map((s) => renderSim(s, ctx.identity.operatorId)), headers };
};

export const searchHandlers: Record<string, ApiHandler> = { searchSims };
