import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { refreshGauges } from "../../controller/gauges.js";
import { createMetrics } from "../../controller/metrics.js";

// A shard reports only its own namespaces: another shard reports the rest, and a series must have one source.

const order = (namespace: string, status: string): EsimProfileOrder =>
  ({
    metadata: { namespace, name: "fleet" },
    spec: {},
    status: { orders: [{ sequence: 1, token: "t", quantity: 1, status }] },
  }) as unknown as EsimProfileOrder;
const profile = (namespace: string, phase: string): EsimProfile =>
  ({ metadata: { namespace, name: "p" }, spec: {}, status: { phase } }) as unknown as EsimProfile;
const cache = <T>(items: T[]) => ({ get: () => undefined, list: () => items });

describe("refreshGauges under sharding", () => {
  it("counts the orders and profiles of the namespaces the shard owns, and no other namespace appears", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const caches = {
      orders: cache([order("mine", "COMPLETED"), order("theirs", "COMPLETED")]),
      profiles: cache([profile("mine", "Installed"), profile("theirs", "Installed"), profile("theirs", "Deleted")]),
    };
    refreshGauges(metrics, caches, [], 0, (ns) => ns === "mine");
    const text = await registry.metrics();
    expect(text).toContain('soracom_esim_orders{namespace="mine",status="COMPLETED"} 1');
    expect(text).toContain('soracom_esim_profiles{namespace="mine",phase="Installed"} 1');
    expect(text).not.toContain('namespace="theirs"');
    refreshGauges(metrics, caches, [], 0);
    expect(await registry.metrics()).toContain('soracom_esim_profiles_deleted_on_device_billing{namespace="theirs"} 1');
  });
});
