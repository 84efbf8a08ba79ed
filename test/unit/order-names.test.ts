import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { EsimProfileOrder } from "../../controller/api/types.js";
import { buildProfile, MAX_ORDER_NAME, profileName } from "../../controller/order/profiles.js";
import { activationSecretName } from "../../controller/order/secret.js";

// Every name the controller derives from an order's must be one Kubernetes takes (253 characters at most,
// a DNS subdomain), and no two profiles of one order may share one: else profiles are bought whose
// EsimProfile or activation Secret can never be created.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** An order name of `n` characters (a DNS subdomain), the `seed` varying where dots and dashes fall. */
function orderName(n: number, seed: number): string {
  const chars = "abcdefghij0123456789-.";
  let s = "";
  for (let i = 0; i < n; i++) {
    const c = chars[(i * 7 + seed * 13 + ((i * seed) % 5)) % chars.length]!;
    const edge = i === 0 || i === n - 1 || s.endsWith("-") || s.endsWith(".");
    s += edge && (c === "-" || c === ".") ? "x" : c;
  }
  return s;
}

const iccids = [
  "894231000000000000", // 18 digits
  "8942310000000000001",
  "89423100000000000012",
  "894231000000000000123",
  "894231000000000000123F", // 22: the longest the EsimProfile CRD takes
];

describe("names derived from an order", () => {
  it("every profile and activation Secret name fits and is valid, for every order name length", () => {
    for (let n = 1; n <= 253; n++) {
      for (const seed of [1, 2, 3]) {
        const order = orderName(n, seed);
        for (const iccid of iccids) {
          const profile = profileName(order, iccid);
          expect(profile.length, `${n}/${iccid}`).toBeLessThanOrEqual(253);
          expect(activationSecretName(profile).length, `${n}/${iccid}`).toBeLessThanOrEqual(253);
          expect(profile, `${n}/${iccid}`).toMatch(DNS_SUBDOMAIN);
        }
      }
    }
  });

  it("no two (order, ICCID) pairs share a profile name, even orders alike in their first 253 characters", () => {
    const seen = new Map<string, string>();
    const base = orderName(253, 1);
    const orders = [base, `${base.slice(0, 252)}z`, `${base.slice(0, 240)}q`, orderName(234, 2), orderName(240, 2)];
    for (const order of orders)
      for (const iccid of iccids) {
        const name = profileName(order, iccid);
        expect(seen.get(name), name).toBeUndefined();
        seen.set(name, `${order}/${iccid}`);
      }
    expect(seen.size).toBe(orders.length * iccids.length);
  });

  it("up to the CRD's limit names are <order>-<iccid>, as they always were; the CRD's limit is the derived one", () => {
    const crd = parse(
      readFileSync(join(import.meta.dirname, "../../crds/esim.soracom-operator.io_esimprofileorders.yaml"), "utf8"),
    );
    const rules: Array<{ rule: string }> = crd.spec.versions[0].schema.openAPIV3Schema["x-kubernetes-validations"];
    const limit = rules.map((r) => /metadata\.name\.size\(\) <= (\d+)/.exec(r.rule)?.[1]).find(Boolean);
    expect(Number(limit)).toBe(MAX_ORDER_NAME);
    const order = orderName(MAX_ORDER_NAME, 1);
    for (const iccid of iccids) expect(profileName(order, iccid)).toBe(`${order}-${iccid.toLowerCase()}`);
    expect(activationSecretName(profileName(order, iccids[4]!))).toHaveLength(253);
  });

  it("the order label of a long-named order is a valid label value", () => {
    // Names whose 63rd character is a dash or a dot, and others about that length.
    const names = ["-", "."].flatMap((c) => [
      `${"a".repeat(62)}${c}b`,
      `${"a".repeat(61)}${c}${c === "-" ? "-" : "x"}bc`,
    ]);
    for (let n = 60; n <= 70; n++) names.push(orderName(n, n));
    for (const name of names) {
      const o: EsimProfileOrder = {
        apiVersion: "esim.soracom-operator.io/v1alpha1",
        kind: "EsimProfileOrder",
        metadata: { name, namespace: "iot", uid: "u" },
        spec: { subscription: "planX3", quantity: 1 },
      };
      const p = buildProfile(o, {
        profileOrderId: "po",
        iccid: iccids[0]!,
        imsi: "440100000000000",
        matchingId: "",
        smdpAddress: "",
        activationCode: "",
        profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
        createdTime: 0,
        lastModifiedTime: 0,
      });
      for (const v of Object.values(p.metadata.labels ?? {})) expect(v, name).toMatch(LABEL_VALUE);
    }
  });
});
