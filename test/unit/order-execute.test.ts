import { describe, expect, it } from "vitest";
import type { EsimProfileOrder } from "../../controller/api/types.js";
import { forEachLimited } from "../../controller/concurrency.js";
import type { KubeClient } from "../../controller/kube/rest.js";
import { silentLogger } from "../../controller/log.js";
import { executeOrderActions } from "../../controller/order/execute.js";
import type { OrderAction } from "../../controller/order/model.js";
import {
  type SoracomClient,
  SoracomFencedError,
  SoracomOutcomeUnknownError,
  SoracomTimeoutError,
} from "../../controller/soracom/index.js";
import type { OrderedProfile, ProfileOrder } from "../../controller/soracom/types.js";

const ORDER = {
  apiVersion: "esim.soracom-operator.io/v1alpha1",
  kind: "EsimProfileOrder",
  metadata: { name: "fleet", namespace: "iot", uid: "uid-order", finalizers: [] },
  spec: { subscription: "planX3", quantity: 100 },
} as unknown as EsimProfileOrder;

/** Gauge counts calls in flight and remembers the most at once. */
class Gauge {
  now = 0;
  max = 0;
  async around<T>(fn: () => T): Promise<T> {
    this.now += 1;
    this.max = Math.max(this.max, this.now);
    await new Promise((r) => setTimeout(r, 2));
    this.now -= 1;
    return fn();
  }
}

function fakeSoracom(gauge: Gauge): SoracomClient {
  const order = (id: string, status: string): ProfileOrder =>
    ({ profileOrderId: id, subscription: "planX3", quantity: 20, status, orderedTime: 0 }) as ProfileOrder;
  return {
    createProfileOrder: (req: { description?: string }) => gauge.around(() => order(`o-${req.description}`, "DRAFT")),
    confirmProfileOrder: (id: string) => gauge.around(() => order(id, "CONFIRMED")),
    async *searchSims() {
      await gauge.around(() => undefined);
    },
  } as unknown as SoracomClient;
}

/** fakeKube answers every write with the body it got, plus a uid, and counts writes in flight. */
function fakeKube(gauge: Gauge): KubeClient {
  return {
    request: ({ body }: { body?: { metadata?: Record<string, unknown> } }) =>
      gauge.around(() => ({ ...body, metadata: { ...body?.metadata, uid: "uid-x" } })),
  } as unknown as KubeClient;
}

const creates = (n: number, confirm = false): OrderAction[] =>
  Array.from({ length: n }, (_, i) => ({
    type: "createOrder",
    sequence: i + 1,
    token: `t${i}`,
    request: { subscription: "planX3", quantity: 20, description: String(i) },
    confirm,
    sendBy: Date.now() + 60_000,
  }));

const profile = (orderId: string, i: number): OrderedProfile => ({
  profileOrderId: orderId,
  iccid: `89811${String(i).padStart(14, "0")}`,
  imsi: `44010${String(i).padStart(10, "0")}`,
  matchingId: `M${i}`,
  smdpAddress: "smdp.example",
  activationCode: `LPA:1$smdp.example$M${i}`,
  profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
  createdTime: 0,
  lastModifiedTime: 0,
});

describe("executeOrderActions: a round of 500 Soracom orders is not 500 round trips in a row", () => {
  it("sends consecutive creates at once, up to the Soracom parallelism, and reports every one", async () => {
    const soracom = new Gauge();
    const { results } = await executeOrderActions(
      { kube: fakeKube(new Gauge()), logger: silentLogger, soracomParallelism: 8 },
      ORDER,
      fakeSoracom(soracom),
      creates(30),
    );
    expect(results).toHaveLength(30);
    expect(results.every((r) => r.type === "created")).toBe(true);
    expect(new Set(results.map((r) => (r as { sequence: number }).sequence)).size).toBe(30);
    expect(soracom.max).toBe(8);
  });

  it("confirms an Automatic create as soon as it is answered, and reports the confirm after its create", async () => {
    const soracom = new Gauge();
    const calls: string[] = [];
    const client = fakeSoracom(soracom);
    const create = client.createProfileOrder;
    const confirm = client.confirmProfileOrder;
    client.createProfileOrder = async (req) => {
      const o = await create(req);
      calls.push(`create ${o.profileOrderId}`);
      return o;
    };
    client.confirmProfileOrder = async (id) => {
      calls.push(`confirm ${id}`);
      return confirm(id);
    };
    const { results } = await executeOrderActions(
      { kube: fakeKube(new Gauge()), logger: silentLogger, soracomParallelism: 4 },
      ORDER,
      client,
      creates(10, true),
    );
    // Every order confirmed exactly once, never before its own create answered.
    for (let i = 0; i < 10; i++) {
      expect(calls.filter((c) => c === `confirm o-${i}`)).toHaveLength(1);
      expect(calls.indexOf(`create o-${i}`)).toBeLessThan(calls.indexOf(`confirm o-${i}`));
      const created = results.findIndex((r) => r.type === "created" && r.order.profileOrderId === `o-${i}`);
      const confirmed = results.findIndex((r) => r.type === "confirmed" && r.order.profileOrderId === `o-${i}`);
      expect(created).toBeGreaterThanOrEqual(0);
      expect(confirmed).toBeGreaterThan(created);
    }
    expect(soracom.max).toBeLessThanOrEqual(4);
  });

  it("does not confirm a create whose outcome is unknown, nor one without confirm", async () => {
    const client = fakeSoracom(new Gauge());
    let confirms = 0;
    client.confirmProfileOrder = async () => {
      confirms += 1;
      throw new Error("must not be called");
    };
    client.createProfileOrder = async () => {
      throw new SoracomOutcomeUnknownError(
        "createProfileOrder",
        new SoracomTimeoutError("createProfileOrder", "no answer within 30s", { requestSent: true }),
      );
    };
    const lost = await executeOrderActions(
      { kube: fakeKube(new Gauge()), logger: silentLogger },
      ORDER,
      client,
      creates(2, true),
    );
    expect(lost.results.map((r) => r.type)).toEqual(["createUnknown", "createUnknown"]);
    const manual = await executeOrderActions(
      { kube: fakeKube(new Gauge()), logger: silentLogger },
      ORDER,
      fakeSoracom(new Gauge()),
      creates(2, false),
    );
    expect(manual.results.map((r) => r.type)).toEqual(["created", "created"]);
    expect(confirms).toBe(0);
  });

  it("confirms after the creates, never alongside them", async () => {
    const soracom = new Gauge();
    const order: string[] = [];
    const client = fakeSoracom(soracom);
    const create = client.createProfileOrder;
    const confirm = client.confirmProfileOrder;
    client.createProfileOrder = async (req) => {
      const o = await create(req);
      order.push("create");
      return o;
    };
    client.confirmProfileOrder = (id) => {
      order.push("confirm");
      return confirm(id);
    };
    const confirms: OrderAction[] = [1, 2, 3].map((i) => ({
      type: "confirmOrder",
      profileOrderId: `o-${i}`,
      quantity: 20,
    }));
    await executeOrderActions({ kube: fakeKube(new Gauge()), logger: silentLogger }, ORDER, client, [
      ...creates(3),
      ...confirms,
    ]);
    expect(order).toEqual(["create", "create", "create", "confirm", "confirm", "confirm"]);
  });

  it("creates the profiles of several completed orders through one pool of workers", async () => {
    const kube = new Gauge();
    const actions: OrderAction[] = ["A", "B", "C"].map((id, k) => ({
      type: "createProfiles",
      profileOrderId: id,
      profiles: Array.from({ length: 20 }, (_, i) => profile(id, k * 20 + i)),
    }));
    await executeOrderActions(
      { kube: fakeKube(kube), logger: silentLogger, profileParallelism: 5 },
      ORDER,
      fakeSoracom(new Gauge()),
      actions,
    );
    expect(kube.max).toBe(5);
  });
});

describe("forEachLimited", () => {
  it("rethrows the first failure after the others settled", async () => {
    const done: number[] = [];
    await expect(
      forEachLimited([1, 2, 3, 4], 2, async (i) => {
        if (i === 1) throw new Error("one");
        done.push(i);
      }),
    ).rejects.toThrow("one");
    expect(done.sort()).toEqual([2, 3, 4]);
  });

  it("starts nothing new after a failure when asked to stop on error", async () => {
    const started: number[] = [];
    await expect(
      forEachLimited(
        [1, 2, 3, 4, 5, 6],
        1,
        async (i) => {
          started.push(i);
          if (i === 2) throw new Error("two");
        },
        { stopOnError: true },
      ),
    ).rejects.toThrow("two");
    expect(started).toEqual([1, 2]);
  });
});

describe("executeOrderActions: lost answers, fencing and terminations", () => {
  it("regression (defect 4): a confirm whose answer was lost is reported unknown and is not repeated", async () => {
    const client = fakeSoracom(new Gauge());
    let confirms = 0;
    client.confirmProfileOrder = async () => {
      confirms += 1;
      throw new SoracomOutcomeUnknownError(
        "confirmProfileOrder",
        new SoracomTimeoutError("confirmProfileOrder", "connection reset", { requestSent: true }),
      );
    };
    const { results } = await executeOrderActions(
      { kube: fakeKube(new Gauge()), logger: silentLogger },
      ORDER,
      client,
      [{ type: "confirmOrder", profileOrderId: "o-1", quantity: 20 }],
    );
    expect(results).toEqual([expect.objectContaining({ type: "confirmUnknown", profileOrderId: "o-1" })]);
    expect(confirms).toBe(1);
  });

  it("a create held back by its deadline (fenced) is reported unknown, to be looked up like a lost answer", async () => {
    const client = fakeSoracom(new Gauge());
    client.createProfileOrder = async () => {
      throw new SoracomFencedError("createProfileOrder", "its deadline passed");
    };
    const { results } = await executeOrderActions(
      { kube: fakeKube(new Gauge()), logger: silentLogger },
      ORDER,
      client,
      creates(1, true),
    );
    expect(results.map((r) => r.type)).toEqual(["createUnknown"]);
  });

  it("regression (defect 5): after the signal aborts, no further create, confirm or termination starts", async () => {
    const client = fakeSoracom(new Gauge());
    const sent: string[] = [];
    const abort = new AbortController();
    client.createProfileOrder = async (req) => {
      sent.push(`create ${req.description}`);
      abort.abort(); // the lease is lost while the first create is in flight
      return {
        profileOrderId: "o-0",
        subscription: "planX3",
        quantity: 20,
        status: "DRAFT",
        orderedTime: 0,
      } as ProfileOrder;
    };
    client.confirmProfileOrder = async (id) => {
      sent.push(`confirm ${id}`);
      return { profileOrderId: id, status: "CONFIRMED" } as ProfileOrder;
    };
    await executeOrderActions(
      { kube: fakeKube(new Gauge()), logger: silentLogger, soracomParallelism: 1, signal: abort.signal },
      ORDER,
      client,
      [...creates(3, true), { type: "confirmOrder", profileOrderId: "o-9", quantity: 1 }],
    );
    expect(sent).toEqual(["create 0"]);
  });

  it("a termination is recorded in the ledger before the protection is lifted; a refusal lifts nothing", async () => {
    const calls: string[] = [];
    const client = {
      enableSimTermination: async (id: string) => calls.push(`enable ${id}`),
      terminateSim: async (id: string) => calls.push(`terminate ${id}`),
      getSim: async () => ({}),
    } as unknown as SoracomClient;
    const action: OrderAction = { type: "terminateSim", profile: "p", simId: "s1", reason: "ScaleDown", enable: true };
    const allowed = await executeOrderActions(
      {
        kube: fakeKube(new Gauge()),
        logger: silentLogger,
        recordTermination: async (id) => {
          calls.push(`record ${id}`);
          return true;
        },
      },
      ORDER,
      client,
      [action],
    );
    expect(calls).toEqual(["record s1", "enable s1", "terminate s1"]);
    expect(allowed.results).toEqual([{ type: "terminated", profile: "p", simId: "s1", reason: "ScaleDown" }]);
    calls.length = 0;
    const refused = await executeOrderActions(
      { kube: fakeKube(new Gauge()), logger: silentLogger, recordTermination: async () => false },
      ORDER,
      client,
      [action],
    );
    expect(calls).toEqual([]);
    expect(refused.results.map((r) => r.type)).toEqual(["terminationRefused"]);
  });
});
