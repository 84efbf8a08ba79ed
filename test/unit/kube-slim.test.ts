import { describe, expect, it } from "vitest";
import { ownAnnotation } from "../../controller/api/cache.js";
import { intern, internStrings, slimForCache } from "../../controller/kube/slim.js";

/** A profile as the apiserver sends it: managedFields, a kubectl annotation, a template's annotation. */
function profile(): Record<string, unknown> & { metadata: Record<string, unknown> } {
  return JSON.parse(
    JSON.stringify({
      apiVersion: "esim.soracom-operator.io/v1alpha1",
      kind: "EsimProfile",
      metadata: {
        name: "fleet-8942310000000000001",
        namespace: "fleet",
        uid: "0b0c5b9e-5d0e-4d57-9f0a-1a2b3c4d5e6f",
        resourceVersion: "12345",
        generation: 2,
        creationTimestamp: "2026-12-04T05:37:10Z",
        deletionTimestamp: "2026-12-04T06:00:00Z",
        labels: { "app.kubernetes.io/managed-by": "soracom-esim-operator", team: "sensors" },
        annotations: {
          "kubectl.kubernetes.io/last-applied-configuration": '{"apiVersion":"esim.soracom-operator.io/v1alpha1"}',
          "example.com/owner": "team-a",
          "esim.soracom-operator.io/acknowledge-failed": "po-1",
        },
        finalizers: ["esim.soracom-operator.io/sim-lifecycle"],
        ownerReferences: [{ apiVersion: "esim.soracom-operator.io/v1alpha1", kind: "EsimProfileOrder", uid: "u1" }],
        managedFields: [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:spec": {} } }],
      },
      spec: { iccid: "8942310000000000001", imsi: "295050000000001", deletionPolicy: "Terminate", sim: { tags: {} } },
      status: {
        phase: "Registered",
        simId: "8942310000000000007",
        terminationEnabled: false,
        observedGeneration: 2,
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "Completed",
            message: "",
            lastTransitionTime: "2026-12-04T05:37:10Z",
          },
        ],
      },
    }),
  );
}

describe("slimForCache", () => {
  it("drops managedFields and last-applied-configuration and keeps every other field as it was", () => {
    const slim = slimForCache(profile() as never) as ReturnType<typeof profile>;
    const expected = profile();
    const { managedFields: _m, annotations, ...metadata } = expected.metadata;
    const { "kubectl.kubernetes.io/last-applied-configuration": _l, ...kept } = annotations as Record<string, string>;
    expect(slim).toEqual({ ...expected, metadata: { ...metadata, annotations: kept } });
  });

  it("with keepAnnotation keeps only the annotations it accepts (profiles: this operator's group)", () => {
    const slim = slimForCache(profile() as never, ownAnnotation) as ReturnType<typeof profile>;
    expect(slim.metadata.annotations).toEqual({ "esim.soracom-operator.io/acknowledge-failed": "po-1" });
    expect(slim.metadata).not.toHaveProperty("managedFields");
    expect(slim.metadata.labels).toEqual(profile().metadata.labels);
    expect(slim.metadata.finalizers).toEqual(["esim.soracom-operator.io/sim-lifecycle"]);
    expect(slim.metadata.resourceVersion).toBe("12345"); // writes are guarded by it
  });

  it("leaves no empty annotations map behind, and objects without metadata alone", () => {
    const slim = slimForCache(profile() as never, () => false) as ReturnType<typeof profile>;
    expect(slim.metadata).not.toHaveProperty("annotations");
    expect(slimForCache({ kind: "Status" } as never)).toEqual({ kind: "Status" });
  });

  it("does not modify the metadata of the object it was given", () => {
    const input = profile();
    slimForCache(input as never, () => false);
    expect(input.metadata).toHaveProperty("managedFields");
    expect(Object.keys(input.metadata.annotations as object)).toHaveLength(3);
  });
});

describe("internStrings", () => {
  it("returns equal values: strings, numbers, booleans, nulls, arrays and nested objects", () => {
    const value = { a: "x", b: ["y", 1, true, null, { c: "123", d: "__proto__" }], e: { "f.g": "" } };
    expect(internStrings(JSON.parse(JSON.stringify(value)))).toEqual(value);
    expect(intern("8942310000000000001")).toBe("8942310000000000001");
    expect(intern("__proto__")).toBe("__proto__");
    expect(intern("42")).toBe("42");
  });

  it("keeps long strings as they are and leaves frozen objects untouched", () => {
    const long = "m".repeat(300);
    expect(intern(long)).toBe(long);
    const frozen = Object.freeze({ a: "x" });
    expect(() => internStrings({ inner: frozen })).not.toThrow();
  });
});
