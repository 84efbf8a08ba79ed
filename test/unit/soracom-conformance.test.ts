import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATIONS, type SoracomClient } from "../../controller/soracom/index.js";
import { loadSpecChecker, type SpecChecker } from "../support/soracom-conformance.js";
import { createRecordingDispatcher, type RecordedExchange } from "../support/soracom-recorder.js";
import { collect, type SimControl, type Simulator, startTestSimulator, testClient } from "../support/soracom-sim.js";

let sim: Simulator;
let control: SimControl;
let recorder: ReturnType<typeof createRecordingDispatcher>;
let soracom: SoracomClient;
let checker: SpecChecker;

beforeAll(async () => {
  ({ sim, control } = await startTestSimulator({ clock: "manual", confirmDelayMs: 1000, inProgressDelayMs: 1000 }));
  recorder = createRecordingDispatcher();
  soracom = testClient(sim, { dispatcher: recorder.dispatcher });
  checker = loadSpecChecker();
  await driveEveryOperation();
});

afterAll(async () => {
  await soracom.close();
  await recorder.close();
  await sim.close();
});

/** driveEveryOperation calls each operation the client knows at least once, on its success path. */
async function driveEveryOperation(): Promise<void> {
  const order = await soracom.createProfileOrder({
    subscription: "plan-US",
    quantity: 2,
    speedClass: "s1.fast",
    bundles: ["US-1GB"],
    description: "conformance",
  });
  await soracom.getProfileOrder(order.profileOrderId);
  await soracom.confirmProfileOrder(order.profileOrderId);
  await control.advance(5_000);
  const [profile] = await soracom.listOrderedProfiles(order.profileOrderId);
  const draft = await soracom.createProfileOrder({ subscription: "plan01s", quantity: 1 });
  await collect(soracom.listProfileOrders({ limit: 1 }));
  await soracom.deleteProfileOrder(draft.profileOrderId);
  const subscriber = await soracom.getSubscriber(profile!.imsi);
  const simId = subscriber.simId!;
  await collect(
    soracom.searchSims({ iccid: [profile!.iccid], moduleType: ["profilePackage"], searchType: "and", limit: 1 }),
  );
  await soracom.findSimExact({ iccid: profile!.iccid });
  await soracom.getSim(simId);
  await soracom.activateSim(simId);
  await soracom.updateSimSpeedClass(simId, "s1.standard");
  await soracom.putSimTags(simId, [{ tagName: "owner", tagValue: "conformance" }]);
  await soracom.deleteSimTag(simId, "owner");
  await soracom.setSimGroup(simId, "group-conformance");
  await soracom.unsetSimGroup(simId);
  await soracom.deactivateSim(simId);
  await soracom.setSimToStandby(simId);
  await soracom.suspendSim(simId);
  await soracom.disableSimTermination(simId);
  await soracom.enableSimTermination(simId);
  await soracom.terminateSim(simId);
  await soracom.logout();
}

function exchangeOf(operation: string): RecordedExchange {
  const found = recorder.exchanges.find((e) => checker.operationOf(e) === operation && e.status !== undefined);
  if (!found) throw new Error(`no recorded ${operation}`);
  return found;
}

describe("conformance with the vendored Soracom spec", () => {
  it("every operation of the client was exercised over the wire", () => {
    const seen = new Set(recorder.exchanges.map((e) => checker.operationOf(e)));
    expect([...seen].sort()).toEqual(Object.keys(OPERATIONS).sort());
  });

  it("no request or response departs from the spec", () => {
    const violations = recorder.exchanges.flatMap((e) => checker.check(e));
    expect(recorder.exchanges.length).toBeGreaterThanOrEqual(Object.keys(OPERATIONS).length);
    expect(violations).toEqual([]);
  });
});

describe("the checker catches drift (so the test above can fail)", () => {
  const drifted: Record<
    string,
    { operation: string; mutate: (e: RecordedExchange) => RecordedExchange; where: string }
  > = {
    "a quantity sent back as a string": {
      operation: "getProfileOrder",
      mutate: (e) => ({ ...e, responseBody: JSON.stringify({ ...JSON.parse(e.responseBody), quantity: "10" }) }),
      where: "response.body",
    },
    "an order status outside the enum": {
      operation: "getProfileOrder",
      mutate: (e) => ({ ...e, responseBody: JSON.stringify({ ...JSON.parse(e.responseBody), status: "SHIPPED" }) }),
      where: "response.body",
    },
    "a required profile field missing": {
      operation: "listOrderedProfiles",
      mutate: (e) => ({
        ...e,
        responseBody: JSON.stringify(
          (JSON.parse(e.responseBody) as Array<Record<string, unknown>>).map(({ matchingId: _m, ...rest }) => rest),
        ),
      }),
      where: "response.body",
    },
    "a misspelt request field": {
      operation: "createProfileOrder",
      mutate: (e) => ({
        ...e,
        requestBody: JSON.stringify({ subscription: "plan01s", quantity: 1, speed_class: "s1.fast" }),
      }),
      where: "request.body",
    },
    "a quantity over the schema's maximum": {
      operation: "createProfileOrder",
      mutate: (e) => ({ ...e, requestBody: JSON.stringify({ subscription: "plan01s", quantity: 101 }) }),
      where: "request.body",
    },
    "an undeclared query parameter": {
      operation: "listProfileOrders",
      mutate: (e) => ({ ...e, path: `${e.path}${e.path.includes("?") ? "&" : "?"}page=2` }),
      where: "request.query",
    },
    "a limit above 100": {
      operation: "listProfileOrders",
      mutate: (e) => ({ ...e, path: "/v1/sim_profile_orders?limit=500" }),
      where: "request.query",
    },
    "a subscriber status in no list (the errata widen the enum, they do not open it)": {
      operation: "getSim",
      mutate: (e) => {
        const body = JSON.parse(e.responseBody) as {
          profiles: Record<string, { subscribers: Record<string, { status: string }> }>;
        };
        for (const p of Object.values(body.profiles)) for (const s of Object.values(p.subscribers)) s.status = "bogus";
        return { ...e, responseBody: JSON.stringify(body) };
      },
      where: "response.body",
    },
    "an undeclared response status": {
      operation: "getSim",
      mutate: (e) => ({ ...e, status: 202 }),
      where: "response.status",
    },
  };
  for (const [name, c] of Object.entries(drifted)) {
    it(name, () => {
      const original = exchangeOf(c.operation);
      expect(checker.check(original)).toEqual([]);
      const violations = checker.check(c.mutate(original));
      expect(violations.map((v) => v.where)).toContain(c.where);
    });
  }
});
