import { describe, expect, it } from "vitest";
import type { Condition, EsimProfile, EsimProfileOrder, EsimProfileOrderStatus } from "../../controller/api/types.js";
import { progressBar } from "../../plugin/progress.js";
import { planText, renderOrderTable, summarizeOrder } from "../../plugin/status-view.js";
import { durationText, orderWarnings, type Warning } from "../../plugin/warnings.js";

const NOW = new Date("2026-06-04T12:00:00Z");

function cond(type: string, reason: string, message: string, status: Condition["status"] = "True"): Condition {
  return { type, status, reason, message, lastTransitionTime: "2026-06-04T10:00:00Z" };
}

function order(status: EsimProfileOrderStatus, generation = 1): EsimProfileOrder {
  return {
    apiVersion: "esim.soracom-operator.io/v1alpha1",
    kind: "EsimProfileOrder",
    metadata: { name: "sensors", namespace: "fleet-a", generation },
    spec: { subscription: "planX3", speedClass: "s1.fast", quantity: 25, confirmation: "Manual" },
    status: { observedGeneration: 1, ...status },
  };
}

describe("progressBar", () => {
  const cases: Record<string, [number, number, string]> = {
    "nothing done is an empty bar at 0%": [0, 25, "[....................]   0%"],
    "half done fills half the bar": [10, 20, "[##########..........]  50%"],
    "partial cells round down so a bar is never fuller than the truth": [19, 20, "[###################.]  95%"],
    "all done is a full bar at 100%": [25, 25, "[####################] 100%"],
    "a surplus keeps the bar full and shows the real percentage": [30, 25, "[####################] 120%"],
    "nothing desired shows no ratio": [0, 0, "[....................]    -"],
  };
  for (const [sentence, [value, total, want]] of Object.entries(cases)) {
    it(sentence, () => expect(progressBar(value, total)).toBe(want));
  }
});

describe("durationText", () => {
  const cases: Record<string, [number, string]> = {
    "seconds below a minute": [42_000, "42s"],
    "minutes below an hour": [12 * 60_000, "12m"],
    "hours with minutes": [(60 + 5) * 60_000, "1h 5m"],
    "days with hours": [(26 * 60 + 30) * 60_000, "1d 2h"],
    "a negative span is zero": [-5, "0s"],
  };
  for (const [sentence, [ms, want]] of Object.entries(cases)) {
    it(sentence, () => expect(durationText(ms)).toBe(want));
  }
});

function profile(name: string, ...conditions: Condition[]): EsimProfile {
  return {
    apiVersion: "esim.soracom-operator.io/v1alpha1",
    kind: "EsimProfile",
    metadata: { name, namespace: "fleet-a", labels: { "esim.soracom-operator.io/order": "sensors" } },
    spec: {},
    status: { conditions },
  };
}

const deleted = (name: string) =>
  profile(name, cond("DeletedOnDevice", "DeletedOnDeviceStillBilling", "The device deleted this profile."));
const paused = (name: string) =>
  profile(name, cond("TerminationsPaused", "TerminationBudgetExhausted", "Terminations are paused: budget used up."));

describe("orderWarnings flags what needs a person", () => {
  const cases: Record<string, [EsimProfileOrderStatus, Partial<Warning>[], EsimProfile[]?]> = {
    "a healthy order has no warnings": [
      { conditions: [cond("Ready", "Completed", "All 25 profiles provisioned.")], totals: { deletedOnDevice: 0 } },
      [],
    ],
    "a failed Soracom order stalls the order: an error": [
      { conditions: [cond("Stalled", "OrderFailed", "Soracom order 20260604-1 FAILED.")] },
      [{ type: "Stalled", reason: "OrderFailed", severity: "error", message: "Soracom order 20260604-1 FAILED." }],
    ],
    "the spend budget stalls the order: an error": [
      { conditions: [cond("Stalled", "BudgetExceeded", "Spend budget of 100 profiles per 24h reached.")] },
      [{ type: "Stalled", reason: "BudgetExceeded", severity: "error" }],
    ],
    "missing credentials stall the order: an error": [
      { conditions: [cond("Stalled", "CredentialsNotFound", 'Secret "soracom" not found.')] },
      [{ type: "Stalled", reason: "CredentialsNotFound", severity: "error" }],
    ],
    "bad credentials stall the order: an error": [
      { conditions: [cond("Stalled", "CredentialsInvalid", "Soracom rejected the AuthKey.")] },
      [{ type: "Stalled", reason: "CredentialsInvalid", severity: "error" }],
    ],
    "an order IN_PROGRESS too long is stuck": [
      { conditions: [cond("OrderStuck", "InProgressTooLong", "Order 20260604-1 IN_PROGRESS for 26h.")] },
      [{ type: "OrderStuck", reason: "InProgressTooLong", severity: "warning" }],
    ],
    "a draft near expiry says how long is left": [
      {
        conditions: [cond("DraftExpiring", "DraftExpiresSoon", "Draft 20260604-2 expires soon.")],
        pendingApproval: { profileOrderIds: ["20260604-2"], quantity: 5, expiresTime: "2026-06-04T13:20:00Z" },
      },
      [{ type: "DraftExpiring", message: "Draft 20260604-2 expires soon. (expires in 1h 20m)" }],
    ],
    "drafts awaiting confirmation point to kubectl esim approve": [
      { conditions: [cond("AwaitingConfirmation", "AwaitingApproval", "1 draft order (5 profiles) awaits approval.")] },
      [
        {
          type: "AwaitingConfirmation",
          message: "1 draft order (5 profiles) awaits approval. Run: kubectl esim approve sensors -n fleet-a",
        },
      ],
    ],
    "profiles deleted on the device are still billing, named from their conditions": [
      { totals: { deletedOnDevice: 2 } },
      [
        {
          type: "DeletedOnDevice",
          reason: "DeletedOnDeviceStillBilling",
          severity: "warning",
          message:
            "2 profile(s) deleted on the device (sensors-1, sensors-2): still billing until their SIMs are terminated (see spec.onDeviceDeletion).",
        },
      ],
      [deleted("sensors-1"), profile("sensors-3"), deleted("sensors-2")],
    ],
    "profiles deleted on the device are still billing, from the order's totals alone": [
      { totals: { deletedOnDevice: 2 } },
      [
        {
          type: "DeletedOnDevice",
          message: expect.stringContaining("2 profile(s) deleted on the device: still billing"),
        },
      ],
    ],
    "more than three profiles are named with a count of the rest": [
      {},
      [{ type: "DeletedOnDevice", message: expect.stringContaining("(p1, p2, p3 and 2 more): still billing") }],
      ["p1", "p2", "p3", "p4", "p5"].map(deleted),
    ],
    "terminations paused on profiles are counted and keep the controller's message": [
      {},
      [
        {
          type: "TerminationsPaused",
          reason: "TerminationBudgetExhausted",
          message: "2 profile(s) (sensors-1, sensors-2): Terminations are paused: budget used up.",
        },
      ],
      [paused("sensors-1"), paused("sensors-2")],
    ],
    "a stalled profile is an error when the order itself is not stalled": [
      {},
      [
        {
          type: "Stalled",
          reason: "SimNotFound",
          severity: "error",
          message: "1 profile(s) (sensors-9): No SIM has ICCID 898.",
        },
      ],
      [profile("sensors-9", cond("Stalled", "SimNotFound", "No SIM has ICCID 898."))],
    ],
    "a spent termination budget pauses terminations": [
      { conditions: [cond("TerminationsPaused", "TerminationBudgetExhausted", "20 terminations in the last hour.")] },
      [{ type: "TerminationsPaused", reason: "TerminationBudgetExhausted", severity: "warning" }],
    ],
    "a condition that is False is no warning": [
      {
        conditions: [
          cond("Stalled", "OrderFailed", "old", "False"),
          cond("OrderStuck", "InProgressTooLong", "x", "Unknown"),
        ],
      },
      [],
    ],
    "several warnings come most urgent first": [
      {
        conditions: [
          cond("AwaitingConfirmation", "AwaitingApproval", "a"),
          cond("TerminationsPaused", "TerminationBudgetExhausted", "t"),
          cond("Stalled", "BudgetExceeded", "b"),
        ],
      },
      [{ type: "Stalled" }, { type: "AwaitingConfirmation" }, { type: "TerminationsPaused" }],
    ],
  };
  for (const [sentence, [status, want, profiles = []]] of Object.entries(cases)) {
    it(sentence, () => {
      const got = orderWarnings({ order: order(status), profiles, now: NOW });
      expect(got).toHaveLength(want.length);
      for (const [i, w] of want.entries()) expect(got[i]).toMatchObject(w);
    });
  }

  it("a status older than the spec says the controller has not caught up", () =>
    expect(orderWarnings({ order: order({}, 3), profiles: [], now: NOW })).toEqual([
      {
        type: "ObservedGeneration",
        reason: "StatusOutdated",
        severity: "warning",
        message: "Status describes generation 1, the spec is at 3: the controller has not caught up yet.",
      },
    ]));
});

describe("summarizeOrder and renderOrderTable", () => {
  const o = order({
    phase: "In Progress",
    totals: { ordered: 20, drafts: 5, provisioned: 20, installed: 3, activated: 1 },
    conditions: [cond("OrderStuck", "InProgressTooLong", "Order 1 IN_PROGRESS for 26h.")],
  });

  it("a summary carries spec and totals, missing totals as zero", () =>
    expect(summarizeOrder(o, [], NOW)).toMatchObject({
      namespace: "fleet-a",
      name: "sensors",
      subscription: "planX3",
      speedClass: "s1.fast",
      confirmation: "Manual",
      phase: "In Progress",
      desired: 25,
      ordered: 20,
      drafts: 5,
      provisioned: 20,
      installed: 3,
      activated: 1,
      deletedOnDevice: 0,
      terminated: 0,
    }));

  it("the plan reads like the price list", () =>
    expect(planText({ subscription: "planX3", speedClass: "s1.fast", bundles: ["X3-5MB"] })).toBe(
      "planX3, speed class s1.fast, bundle X3-5MB",
    ));

  it("the table shows progress bars against desired, drafts and warnings", () =>
    expect(renderOrderTable(summarizeOrder(o, [], NOW))).toBe(
      [
        "ORDER        sensors (namespace fleet-a)",
        "PLAN         planX3, speed class s1.fast; confirmation Manual",
        "PHASE        In Progress",
        "DESIRED       25",
        "ORDERED       20  [################....]  80%",
        "PROVISIONED   20  [################....]  80%",
        "INSTALLED      3  [##..................]  12%",
        "ACTIVATED      1  [....................]   4%",
        "DRAFTS         5  profiles in draft orders",
        "WARNINGS",
        "  WARNING OrderStuck/InProgressTooLong: Order 1 IN_PROGRESS for 26h.",
      ].join("\n"),
    ));

  it("an order without status is Pending with empty bars and no warnings", () => {
    const bare: EsimProfileOrder = { ...o, status: undefined };
    const table = renderOrderTable(summarizeOrder(bare, [], NOW));
    expect(table).toContain("PHASE        Pending");
    expect(table).toContain("ORDERED        0  [....................]   0%");
    expect(table).toContain("WARNINGS     none");
  });
});
