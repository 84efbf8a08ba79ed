import { describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import type { ChildProfile } from "../../controller/order/model.js";
import { OwnWrites, SeenProfiles } from "../../controller/order/reconciler.js";

const at = (resourceVersion: string, note = ""): EsimProfileOrder =>
  ({
    apiVersion: "esim.soracom-operator.io/v1alpha1",
    kind: "EsimProfileOrder",
    metadata: { name: "fleet", namespace: "iot", resourceVersion, annotations: { note } },
    spec: { subscription: "planX3", quantity: 1 },
  }) as EsimProfileOrder;

const KEY = "iot/fleet";

describe("OwnWrites: a round right after our own write starts from that write", () => {
  it("a cache that has not caught up with our write gives our write", () => {
    const own = new OwnWrites();
    own.wrote(KEY, at("1"), at("2", "ours"));
    expect(own.latest(KEY, at("1"))?.metadata.annotations?.note).toBe("ours");
  });

  it("a cache that shows our write is believed, and the memory of it dropped", () => {
    const own = new OwnWrites();
    own.wrote(KEY, at("1"), at("2", "ours"));
    expect(own.latest(KEY, at("2", "cache"))?.metadata.annotations?.note).toBe("cache");
    expect(own.latest(KEY, at("1", "older"))?.metadata.annotations?.note).toBe("older");
  });

  it("a cache that shows someone else's later change wins", () => {
    const own = new OwnWrites();
    own.wrote(KEY, at("1"), at("2", "ours"));
    expect(own.latest(KEY, at("3", "user"))?.metadata.annotations?.note).toBe("user");
  });

  it("after two writes in a round, a cache showing only the first gives the second", () => {
    const own = new OwnWrites();
    const intent = own.wrote(KEY, at("1"), at("2", "intent"));
    own.wrote(KEY, intent, at("3", "results"));
    expect(own.latest(KEY, at("2"))?.metadata.annotations?.note).toBe("results");
    expect(own.latest(KEY, at("1"))?.metadata.annotations?.note).toBe("results");
  });

  it("a write that changed nothing (same version) is not remembered", () => {
    const own = new OwnWrites();
    own.wrote(KEY, at("1"), at("1", "same"));
    expect(own.latest(KEY, at("1", "cache"))?.metadata.annotations?.note).toBe("cache");
  });

  it("an order gone from the cache is gone", () => {
    const own = new OwnWrites();
    own.wrote(KEY, at("1"), at("2", "ours"));
    expect(own.latest(KEY, undefined)).toBeUndefined();
    expect(own.latest(KEY, at("1", "again"))?.metadata.annotations?.note).toBe("again");
  });
});

describe("SeenProfiles: what the profile informer showed of an order still making profiles", () => {
  const order = (statuses: Array<{ status: string; materialized?: boolean }>): EsimProfileOrder =>
    ({
      ...at("5"),
      status: { orders: statuses.map((s, i) => ({ sequence: i + 1, token: `t${i}`, quantity: 2, ...s })) },
    }) as EsimProfileOrder;
  const profile = (iccid: string, owner = "fleet"): EsimProfile =>
    ({
      apiVersion: "esim.soracom-operator.io/v1alpha1",
      kind: "EsimProfile",
      metadata: {
        name: `${owner}-${iccid}`,
        namespace: "iot",
        ownerReferences: [{ kind: "EsimProfileOrder", name: owner }],
      },
      spec: { iccid },
    }) as unknown as EsimProfile;
  const child = (iccid: string) => ({ iccid }) as ChildProfile;

  it("calls deleted what the informer showed and the cache no longer has, for an order making profiles", () => {
    const seen = new SeenProfiles();
    expect([...seen.deleted(KEY, order([{ status: "IN_PROGRESS" }]), [child("a")])]).toEqual([]);
    seen.saw(KEY, profile("b"));
    seen.saw("iot/other", profile("c", "other"));
    // b was shown (so it was in the cache), then deleted: this round's children no longer have it.
    expect([...seen.deleted(KEY, order([{ status: "COMPLETED" }]), [child("a")])]).toEqual(["b"]);
    // Shown again (a relist or an update): not deleted.
    expect([...seen.deleted(KEY, order([{ status: "COMPLETED" }]), [child("a"), child("b")])]).toEqual([]);
  });

  it("a profile shown while a round awaits Soracom is not counted by that round (its children lack it too)", () => {
    // CI caught the earlier version handing the planner the live set: a profile shown during a round's
    // awaits counted as made while that round's children, and so its slots, lacked it: ordered again.
    const seen = new SeenProfiles();
    const completed = order([{ status: "COMPLETED" }]);
    seen.deleted(KEY, completed, []);
    seen.saw(KEY, profile("a"));
    const round = seen.deleted(KEY, completed, [child("a")]);
    seen.saw(KEY, profile("b")); // shown while the round awaits: not in its children
    expect([...round]).toEqual([]);
    // The next round's children lack b: the informer showed it, so it was deleted.
    const next = seen.deleted(KEY, completed, [child("a")]);
    seen.saw(KEY, profile("c"));
    expect([...next]).toEqual(["b"]);
  });

  it("a profile created and not shown yet is never called deleted", () => {
    const seen = new SeenProfiles();
    expect(seen.deleted(KEY, order([{ status: "COMPLETED" }]), []).size).toBe(0);
    expect(seen.deleted(KEY, order([{ status: "COMPLETED" }]), [child("a")]).size).toBe(0);
  });

  it("remembers nothing for an order with nothing left to make, and forgets once it is materialized", () => {
    const seen = new SeenProfiles();
    seen.saw(KEY, profile("a"));
    expect(seen.deleted(KEY, order([{ status: "COMPLETED", materialized: true }]), []).size).toBe(0);
    seen.saw(KEY, profile("a")); // not remembered: nothing of the order is being made
    expect(seen.deleted(KEY, order([{ status: "COMPLETED" }]), []).size).toBe(0);
    seen.saw(KEY, profile("a"));
    expect([...seen.deleted(KEY, order([{ status: "COMPLETED" }]), [])]).toEqual(["a"]);
    expect(seen.deleted(KEY, order([{ status: "COMPLETED", materialized: true }, { status: "FAILED" }]), []).size).toBe(
      0,
    );
    expect(seen.deleted(KEY, order([{ status: "COMPLETED" }]), []).size).toBe(0);
  });
});
