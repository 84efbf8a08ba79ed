import { describe, expect, it } from "vitest";
import type { SoracomRead } from "../../controller/order/model.js";
import { nextInPhase, PollPacer, phaseOf } from "../../controller/order/pacing.js";
import type { OrderedProfile } from "../../controller/soracom/types.js";

const ACTIVE = 5_000;
const STABLE = 300_000;
const T0 = 1_000_000;

const profile = (i: number): OrderedProfile => ({
  profileOrderId: "po-1",
  iccid: `8942${i}`,
  imsi: `4401${i}`,
  matchingId: `M${i}`,
  smdpAddress: "smdp.example",
  activationCode: `LPA:1$smdp.example$M${i}`,
  profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
  createdTime: 0,
  lastModifiedTime: 0,
});

const poll = (id: string): SoracomRead => ({ type: "getOrder", profileOrderId: id, why: "poll" });
const list = (id: string, why: "poll" | "materialize" | "terminate" = "poll"): SoracomRead => ({
  type: "listProfiles",
  profileOrderId: id,
  why,
});

describe("PollPacer: Soracom is asked about an order once per poll, however often the order is reconciled", () => {
  // [sentence, what the pacer saw before, reads wanted (by account "acct" unless the sentence says), due]
  const cases: Array<[string, (p: PollPacer) => void, SoracomRead[], number, SoracomRead[], string?]> = [
    ["an order never read is polled at once", () => undefined, [poll("po-1")], T0, [poll("po-1")]],
    [
      "an order in flight read 1 s ago is not polled again",
      (p) => p.sawOrder("acct", "po-1", T0 - 1_000),
      [poll("po-1")],
      T0,
      [],
    ],
    [
      "an order in flight is polled again once --poll-interval-active has passed",
      (p) => p.sawOrder("acct", "po-1", T0 - ACTIVE),
      [poll("po-1")],
      T0,
      [poll("po-1")],
    ],
    [
      "a completed order's profiles are listed again only after --poll-interval-stable",
      (p) => p.sawProfiles("acct", "po-1", [], T0 - ACTIVE * 2, false),
      [list("po-1")],
      T0,
      [],
    ],
    [
      "a read that backs a decision (a confirm, a termination, materializing) always goes",
      (p) => {
        p.sawOrder("acct", "po-1", T0 - 10);
        p.sawProfiles("acct", "po-2", [], T0 - 10, false);
      },
      [
        { type: "getOrder", profileOrderId: "po-1", why: "confirm" },
        list("po-2", "terminate"),
        list("po-2", "materialize"),
        { type: "getSim", simId: "s" },
        { type: "listOrders" },
      ],
      T0,
      [
        { type: "getOrder", profileOrderId: "po-1", why: "confirm" },
        list("po-2", "terminate"),
        list("po-2", "materialize"),
        { type: "getSim", simId: "s" },
        { type: "listOrders" },
      ],
    ],
    [
      "regression (defect 8): reads are remembered per account: another account's order of the same ID is polled",
      (p) => p.sawOrder("acct-a", "po-1", T0 - 10),
      [poll("po-1")],
      T0,
      [poll("po-1")],
      "acct-b",
    ],
  ];
  for (const [sentence, before, wanted, now, due, account = "acct"] of cases) {
    it(sentence, () => {
      const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
      before(pacer);
      expect(pacer.due(account, wanted, now)).toEqual(due);
    });
  }
});

describe("PollPacer: remembered lists serve materializing only", () => {
  it("keeps the list of an order's profiles while it is materialized, and drops it (activation codes) after", () => {
    const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
    pacer.sawProfiles("acct", "po-1", [profile(1), profile(2)], T0, true);
    expect(pacer.remembered("acct", ["po-1"])).toEqual({ "po-1": [profile(1), profile(2)] });
    expect(pacer.remembered("other", ["po-1"])).toEqual({});
    pacer.materialized("acct", "po-1");
    expect(pacer.remembered("acct", ["po-1"])).toEqual({});
    // Dropping the list does not make the poll due again.
    expect(pacer.due("acct", [list("po-1")], T0 + 1_000)).toEqual([]);
  });
});

describe("PollPacer: nothing is kept for an order that is gone", () => {
  it("a deleted order's list poll and kept list leave memory; a live order's stay", () => {
    const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
    for (let i = 0; i < 100; i++) pacer.sawProfiles("acct", `gone-${i}`, [], T0, false);
    pacer.sawProfiles("acct", "live", [profile(1)], T0, true);
    expect(pacer.retained()).toEqual({ lists: 1 });
    expect(pacer.report("acct")?.polls).toBe(101);
    // The live order keeps polling; the 100 others are never asked about again (their resources are gone).
    let now = T0;
    for (let round = 0; round < 5; round++) {
      now += STABLE * 1.1;
      if (pacer.due("acct", [list("live")], now).length > 0) pacer.sawProfiles("acct", "live", [profile(1)], now, true);
    }
    expect(pacer.retained()).toEqual({ lists: 1 });
    expect(pacer.report("acct")?.polls).toBe(1);
    expect(pacer.remembered("acct", ["live"])).toEqual({ live: [profile(1)] });
  });
});

describe("PollPacer: stable polls are spread evenly over the stable interval", () => {
  it("1,000 orders listed in the same instant are listed next across the whole interval, evenly", () => {
    const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
    const ids = Array.from({ length: 1_000 }, (_, i) => `po-${i}`);
    for (const id of ids) pacer.sawProfiles("acct", id, [], T0, false);
    const next = ids.map((id) => pacer.nextPollAt("acct", [id], ["list"])!);
    // Never sooner than a tenth of an interval, never later than 1.1 intervals: a change still shows in time.
    expect(Math.min(...next)).toBeGreaterThanOrEqual(T0 + 0.1 * STABLE);
    expect(Math.max(...next)).toBeLessThan(T0 + 1.1 * STABLE);
    // Ten equal tenths of the interval get 100 each, give or take what a uniform draw gives (3 sigma).
    const tenths = Array.from({ length: 10 }, () => 0);
    for (const t of next) tenths[Math.floor(((t - T0 - 0.1 * STABLE) / STABLE) * 10)]!++;
    for (const n of tenths) expect(Math.abs(n - 100)).toBeLessThanOrEqual(30);
  });

  it("an order keeps its phase: a late list comes back on it, and every process computes the same", () => {
    const phase = phaseOf("po-1");
    expect(phaseOf("po-1")).toBe(phase);
    const onPhase = T0 - (T0 % STABLE) + phase * STABLE;
    expect(nextInPhase(onPhase, STABLE, phase)).toBe(onPhase + STABLE);
    // Listed 30 % of an interval late (the budget's slots were taken): the next list is back on its phase.
    expect(nextInPhase(onPhase + 0.3 * STABLE, STABLE, phase)).toBe(onPhase + 2 * STABLE - STABLE);
    expect(nextInPhase(onPhase + 0.95 * STABLE, STABLE, phase)).toBe(onPhase + 2 * STABLE);
  });
});

describe("PollPacer: answers are kept per source", () => {
  it("a list kept under one source is not another source's; the account's report finds its source", () => {
    const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
    pacer.sawProfiles("account:iot#production", "po-1", [profile(1)], T0, true);
    expect(pacer.remembered("account:iot#sandbox", ["po-1"])).toEqual({});
    expect(pacer.remembered("account:iot#production", ["po-1"])).toEqual({ "po-1": [profile(1)] });
    expect(pacer.report("account:iot")?.polls).toBe(1);
    expect(pacer.report("account:io")).toBeUndefined();
  });
});
