import { describe, expect, it } from "vitest";
import type { SoracomRead } from "../../controller/order/model.js";
import { PollPacer } from "../../controller/order/pacing.js";

const STABLE = 300_000;
const T0 = 1_000_000;
const list = (id: string): SoracomRead => ({ type: "listProfiles", profileOrderId: id, why: "poll" });

describe("PollPacer.hurry: a poll now, within the poll budget, and no read added", () => {
  it("moves a stable list to now, and the read is due at once", () => {
    const p = new PollPacer({ pollActiveMs: 5_000, pollStableMs: STABLE });
    p.sawProfiles("acct", "po-1", [], T0, false);
    expect(p.due("acct", [list("po-1")], T0 + 1_000)).toEqual([]);
    expect(p.hurry("acct", ["po-1"], T0 + 1_000)).toBe(T0 + 1_000);
    expect(p.due("acct", [list("po-1")], T0 + 1_000)).toEqual([list("po-1")]);
  });
  it("with a budget, hurried polls still come one slot apart", () => {
    const p = new PollPacer({ pollActiveMs: 5_000, pollStableMs: STABLE, pollBudgetPerMinute: 6 }); // a slot each 10 s
    p.budget("acct", 6);
    for (const id of ["po-1", "po-2", "po-3"]) p.sawProfiles("acct", id, [], T0, false);
    const at = ["po-1", "po-2", "po-3"].map((id) => p.hurry("acct", [id], T0 + 1_000) ?? Number.NaN);
    expect(new Set(at).size).toBe(3);
    const sorted = [...at].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(10_000);
    expect(sorted[0]).toBeLessThan(T0 + STABLE / 10);
  });
  it("an order that holds no poll gets none: hurry adds no read", () => {
    const p = new PollPacer({ pollActiveMs: 5_000, pollStableMs: STABLE });
    expect(p.hurry("acct", ["po-1"], T0)).toBeUndefined();
    expect(p.nextPollAt("acct", ["po-1"])).toBeUndefined();
  });
});
