import { describe, expect, it } from "vitest";
import { ANNOTATIONS } from "../../controller/api/vocabulary.js";
import { useCluster } from "../support/cluster.js";
import { eventually, reconciledAfterTouches } from "../support/controller-process.js";
import { condition, useE2E } from "../support/e2e.js";

const cluster = useCluster();
const e2e = useE2E(cluster);
const H = 3_600_000;

describe("manual confirmation", () => {
  it("creates drafts only; approval in git (approvedQuantity) and by annotation each confirm exactly what they name", async () => {
    const { sim, control } = await e2e.simulator();
    await e2e.controller(sim);
    await e2e.applyOrder("bench", { subscription: "planP1", quantity: 25, confirmation: "Manual" });

    const waiting = await eventually(
      async () => {
        const o = await e2e.order("bench");
        return o.status?.pendingApproval?.quantity === 25 ? o : undefined;
      },
      { what: "25 profiles awaiting approval" },
    );
    expect(condition(waiting, "AwaitingConfirmation")).toMatchObject({ status: "True", reason: "AwaitingApproval" });
    expect(waiting.status?.phase).toBe("Draft");
    const [first, second] = waiting.status?.pendingApproval?.profileOrderIds ?? [];
    await control.polls("getProfileOrder", 4); // each draft read twice more, and neither confirmed
    expect((await control.calls()).counts.confirmProfileOrder ?? 0).toBe(0);

    // Approval in git: approvedQuantity 20 covers the first draft (20) only.
    await e2e.patchOrder("bench", { spec: { approvedQuantity: 20 } });
    await eventually(
      async () => {
        const o = await e2e.order("bench");
        return o.status?.orders?.find((t) => t.profileOrderId === first)?.status === "COMPLETED" ? o : undefined;
      },
      { what: "first draft confirmed and completed" },
    );
    let confirms = (await control.calls()).calls.filter((c) => c.operation === "confirmProfileOrder");
    expect(confirms.map((c) => c.path)).toEqual([`/v1/sim_profile_orders/${first}/confirm`]);

    // Approval with kubectl: the annotation names the second draft.
    await e2e.patchOrder("bench", { metadata: { annotations: { [ANNOTATIONS.approveOrders]: second } } });
    const done = await eventually(
      async () => {
        const o = await e2e.order("bench");
        return condition(o, "Ready")?.status === "True" ? o : undefined;
      },
      { timeoutMs: 60_000, what: "order Ready" },
    );
    confirms = (await control.calls()).calls.filter((c) => c.operation === "confirmProfileOrder");
    expect(confirms.map((c) => c.path).sort()).toEqual(
      [`/v1/sim_profile_orders/${first}/confirm`, `/v1/sim_profile_orders/${second}/confirm`].sort(),
    );
    expect(done.status?.totals?.provisioned).toBe(25);
    expect(condition(done, "AwaitingConfirmation"), "no AwaitingConfirmation once approved").toBeUndefined();
  });

  it("reports a draft close to expiry, and when Soracom drops it creates a new draft only while still wanted", async () => {
    // Soracom's clock starts 23 h back, so a draft ordered now is, for both clocks, 23 h old.
    const { sim, control } = await e2e.simulator({ startTime: Date.now() - 23 * H });
    const ctl = await e2e.controller(sim, { args: ["--draft-expiry-warning", "2h"] });
    await e2e.applyOrder("late", { subscription: "planX1", quantity: 5, confirmation: "Manual" });
    const first = await eventually(
      async () => (await e2e.order("late")).status?.pendingApproval?.profileOrderIds?.[0],
      { what: "a draft" },
    );

    const warned = await eventually(
      async () => {
        const o = await e2e.order("late");
        return condition(o, "DraftExpiring")?.status === "True" ? o : undefined;
      },
      { what: "DraftExpiring" },
    );
    expect(condition(warned, "DraftExpiring")?.message).toContain(first);

    await control.advance(24 * H); // past 24 h on Soracom's clock: the vendor cancels it
    const renewed = await eventually(
      async () => {
        const o = await e2e.order("late");
        const ids = o.status?.pendingApproval?.profileOrderIds ?? [];
        return ids.length === 1 && ids[0] !== first ? o : undefined;
      },
      { what: "a new draft replacing the expired one" },
    );
    expect(renewed.status?.orders?.find((t) => t.profileOrderId === first)?.status).toBe("Expired");
    const events = await e2e.events();
    expect(events.some((e) => e.reason === "DraftExpired" && e.message?.includes(first))).toBe(true);

    // No longer wanted: quantity 0. Expiry of the second draft must not create a third.
    await e2e.patchOrder("late", { spec: { quantity: 0 } });
    await eventually(
      async () => {
        const o = await e2e.order("late");
        return o.status?.observedGeneration === o.metadata.generation && !o.status?.pendingApproval ? o : undefined;
      },
      { what: "draft cancelled when quantity is 0" },
    );
    const creates = (await control.calls()).counts.createProfileOrder;
    await control.advance(25 * H);
    // Two reconciles after the expiry, either of which could have created a draft.
    await reconciledAfterTouches(ctl, "esimprofileorder", (v) =>
      e2e.patchOrder("late", { metadata: { annotations: { "test.example/touch": v } } }),
    );
    expect((await control.calls()).counts.createProfileOrder).toBe(creates);
    expect(creates).toBe(2);
  });
});
