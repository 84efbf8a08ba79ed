import { describe, expect, it } from "vitest";
import { splitList } from "../../controller/api/annotations.js";
import type { EsimProfileOrder } from "../../controller/api/types.js";
import { ANNOTATIONS } from "../../controller/api/vocabulary.js";
import { approvalSentence, mergeApproved, planApproval } from "../../plugin/approve-plan.js";
import { EXIT } from "../../plugin/errors.js";
import { main } from "../../plugin/main.js";
import { anOrder, connectTo, FakeCluster, RecordingIo } from "./plugin-fakes.js";

function manual(pending: string[], quantity: number, annotation?: string): EsimProfileOrder {
  return anOrder("sensors", "fleet-a", {
    metadata: {
      name: "sensors",
      namespace: "fleet-a",
      resourceVersion: "7",
      ...(annotation === undefined ? {} : { annotations: { [ANNOTATIONS.approveOrders]: annotation } }),
    },
    spec: { subscription: "planX3", speedClass: "s1.fast", quantity: 25, confirmation: "Manual" },
    status: {
      pendingApproval: { profileOrderIds: pending, quantity, expiresTime: "2026-06-04T14:30:00Z" },
    },
  });
}

describe("planApproval reads what approving would spend", () => {
  it("nothing pending means nothing to approve", () => expect(planApproval(manual([], 0))).toBeUndefined());
  it("an order without status has nothing to approve", () => expect(planApproval(anOrder("x", "y"))).toBeUndefined());
  it("pending drafts become the plan, with the plan text and expiry", () =>
    expect(planApproval(manual(["A", "B"], 25))).toEqual({
      ids: ["A", "B"],
      quantity: 25,
      plan: "planX3, speed class s1.fast",
      expiresTime: "2026-06-04T14:30:00Z",
      alreadyApproved: [],
    }));
  it("IDs already in the annotation are noted", () =>
    expect(planApproval(manual(["A", "B"], 25, "Z,B"))?.alreadyApproved).toEqual(["B"]));
});

describe("approvalSentence", () => {
  const cases: Record<string, [string[], number, string]> = {
    "several drafts": [["A", "B"], 25, "Approve 2 draft orders (25 profiles of planX3, speed class s1.fast): A, B"],
    "one draft of one profile reads in the singular": [
      ["A"],
      1,
      "Approve 1 draft order (1 profile of planX3, speed class s1.fast): A",
    ],
  };
  for (const [sentence, [ids, quantity, want]] of Object.entries(cases)) {
    it(sentence, () => expect(approvalSentence(planApproval(manual(ids, quantity)) ?? ({} as never))).toBe(want));
  }
});

describe("mergeApproved unions the annotation with the shown IDs", () => {
  const cases: Record<string, [string | undefined, string[], string]> = {
    "no annotation yet": [undefined, ["A", "B"], "A,B"],
    "existing IDs are kept first": ["Z", ["A"], "Z,A"],
    "an ID already there is not repeated": ["A,Z", ["A", "B"], "A,Z,B"],
    "blanks and spaces in the old value are cleaned": [" A, ,Z ", ["B"], "A,Z,B"],
  };
  for (const [sentence, [existing, ids, want]] of Object.entries(cases)) {
    it(sentence, () => expect(mergeApproved(existing, ids)).toBe(want));
  }
  it("splitList drops blanks", () => expect(splitList(",A,,B,")).toEqual(["A", "B"]));
});

describe("kubectl esim approve", () => {
  function setup(order: EsimProfileOrder) {
    const cluster = new FakeCluster();
    cluster.orders.push(order);
    return cluster;
  }

  it("with --yes it shows the spend and patches exactly the shown drafts", async () => {
    const cluster = setup(manual(["A", "B"], 25, "Z"));
    const io = new RecordingIo();
    expect(await main(["approve", "sensors", "--yes"], io, connectTo(cluster))).toBe(EXIT.ok);
    expect(io.out).toContain("Approve 2 draft orders (25 profiles of planX3, speed class s1.fast): A, B");
    expect(io.out).toContain("Soracom cancels the oldest draft in 2h 30m (2026-06-04T14:30:00Z)");
    expect(cluster.patches).toEqual([
      {
        kind: "EsimProfileOrder",
        name: "sensors",
        annotations: { [ANNOTATIONS.approveOrders]: "Z,A,B" },
        resourceVersion: "7",
      },
    ]);
  });

  it("off a terminal without --yes it refuses with exit 2 and changes nothing", async () => {
    const cluster = setup(manual(["A"], 5));
    const io = new RecordingIo(false);
    expect(await main(["approve", "sensors"], io, connectTo(cluster))).toBe(EXIT.usage);
    expect(io.err).toContain("refusing to approve without --yes");
    expect(cluster.patches).toEqual([]);
  });

  it("on a terminal, y approves", async () => {
    const cluster = setup(manual(["A"], 5));
    const io = new RecordingIo(true, ["y"]);
    expect(await main(["approve", "sensors"], io, connectTo(cluster))).toBe(EXIT.ok);
    expect(io.prompts).toEqual(["Confirming spends money. Approve? [y/N] "]);
    expect(cluster.patches).toHaveLength(1);
  });

  it("on a terminal, anything but y or yes changes nothing (exit 1)", async () => {
    const cluster = setup(manual(["A"], 5));
    const io = new RecordingIo(true, [""]);
    expect(await main(["approve", "sensors"], io, connectTo(cluster))).toBe(EXIT.error);
    expect(io.err).toContain("not approved: nothing changed");
    expect(cluster.patches).toEqual([]);
  });

  it("--dry-run shows and changes nothing", async () => {
    const cluster = setup(manual(["A"], 5));
    const io = new RecordingIo();
    expect(await main(["approve", "sensors", "--dry-run"], io, connectTo(cluster))).toBe(EXIT.ok);
    expect(io.out).toContain("Approve 1 draft order");
    expect(io.out).toContain("Dry run: nothing changed.");
    expect(cluster.patches).toEqual([]);
  });

  it("nothing pending says so and exits 0", async () => {
    const cluster = setup(manual([], 0));
    const io = new RecordingIo();
    expect(await main(["approve", "sensors", "--yes"], io, connectTo(cluster))).toBe(EXIT.ok);
    expect(io.out).toBe("Nothing to approve: fleet-a/sensors has no draft orders awaiting approval.\n");
  });

  it("drafts all approved already are not patched again", async () => {
    const cluster = setup(manual(["A"], 5, "A"));
    const io = new RecordingIo();
    expect(await main(["approve", "sensors", "--yes"], io, connectTo(cluster))).toBe(EXIT.ok);
    expect(io.out).toContain("already approved");
    expect(cluster.patches).toEqual([]);
  });

  it("a conflicting edit is read again and merged, keeping the other writer's IDs", async () => {
    const cluster = setup(manual(["A"], 5, "Z"));
    cluster.conflicts = 1;
    const stored = cluster.orders[0] as EsimProfileOrder;
    stored.metadata.annotations = { [ANNOTATIONS.approveOrders]: "Z,Y" }; // what the re-read will see
    const io = new RecordingIo();
    expect(await main(["approve", "sensors", "--yes"], io, connectTo(cluster))).toBe(EXIT.ok);
    expect(cluster.patches.map((p) => p.annotations[ANNOTATIONS.approveOrders])).toEqual(["Z,Y,A"]);
  });

  it("an unknown order is exit 4", async () => {
    const io = new RecordingIo();
    expect(await main(["approve", "nope", "--yes"], io, connectTo(new FakeCluster()))).toBe(EXIT.notFound);
    expect(io.err).toContain('EsimProfileOrder "nope" not found');
  });
});
