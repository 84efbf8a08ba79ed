import { describe, expect, it } from "vitest";
import type { EsimProfileOrder } from "../../controller/api/types.js";
import { OwnWrites } from "../../controller/order/reconciler.js";

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
