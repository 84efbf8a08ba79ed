import { describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { ChildrenMemo, childrenOf } from "../../controller/order/observe.js";

const order = (uid: string): EsimProfileOrder => ({
  metadata: { name: "fleet", namespace: "iot", uid },
  spec: { subscription: "planX3", quantity: 2 },
});

const profile = (name: string, ownerUid: string): EsimProfile => ({
  metadata: {
    name,
    namespace: "iot",
    ownerReferences: [{ apiVersion: "v1alpha1", kind: "EsimProfileOrder", name: "fleet", uid: ownerUid }],
  },
  spec: {},
  status: { profileOrderId: "po-1", iccid: `8942${name}` },
});

/** A cache of profiles with a change count, as the informer keeps one. */
function cache() {
  const profiles: EsimProfile[] = [];
  let changes = 0;
  return {
    add(p: EsimProfile) {
      profiles.push(p);
      changes++;
    },
    list: () => [...profiles],
    changeCount: () => changes,
  };
}

describe("ChildrenMemo: an order's children are worked out again only when a cached object changed", () => {
  it("the same caches give the same children without walking the profiles again; a new profile shows at once", () => {
    const profiles = cache();
    profiles.add(profile("a", "uid-1"));
    const memo = new ChildrenMemo();
    let walks = 0;
    const round = (o: EsimProfileOrder) =>
      memo.children("iot/fleet", o.metadata.uid ?? "", `${profiles.changeCount()}:0`, () => {
        walks++;
        return childrenOf(o, profiles.list());
      });
    const first = round(order("uid-1"));
    expect(round(order("uid-1"))).toBe(first);
    expect(walks).toBe(1);
    profiles.add(profile("b", "uid-1"));
    expect(round(order("uid-1")).map((c) => c.name)).toEqual(["a", "b"]);
    expect(walks).toBe(2);
    // The order was deleted and made again under the same name: another UID, other children.
    expect(round(order("uid-2"))).toEqual([]);
    expect(walks).toBe(3);
  });

  it("without a change count nothing is kept, and a forgotten order keeps nothing", () => {
    const memo = new ChildrenMemo();
    let walks = 0;
    const compute = () => {
      walks++;
      return [];
    };
    memo.children("iot/fleet", "uid-1", undefined, compute);
    memo.children("iot/fleet", "uid-1", undefined, compute);
    expect(walks).toBe(2);
    expect(memo.size).toBe(0);
    memo.children("iot/fleet", "uid-1", "1:0", compute);
    expect(memo.size).toBe(1);
    memo.forget("iot/fleet");
    expect(memo.size).toBe(0);
  });
});
