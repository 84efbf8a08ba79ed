import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SoracomInvalidResponseError } from "../../controller/soracom/errors.js";
import { OPERATIONS } from "../../controller/soracom/operations.js";
import { RESPONSE_SCHEMAS } from "../../controller/soracom/schemas.generated.js";
import { validAnswer } from "../../controller/soracom/validate.js";
// @ts-expect-error: a plain ESM script without types
import { generate } from "../../scripts/gen-soracom-schemas.mjs";

const root = join(import.meta.dirname, "../..");

describe("the answer schemas the controller compiles in", () => {
  it("are what the vendored spec says (run `npm run gen:soracom-schemas` after re-vendoring)", () => {
    expect(readFileSync(join(root, "controller/soracom/schemas.generated.ts"), "utf8")).toBe(generate());
  });

  it("cover every operation the client sends", () => {
    for (const op of Object.keys(OPERATIONS)) expect(RESPONSE_SCHEMAS, op).toHaveProperty(op);
  });

  it("name the failing JSON path, never the value found there", () => {
    const secret = "LPA:1$smdp.example$TOPSECRET";
    let caught: unknown;
    try {
      validAnswer("listProfileOrders", [
        { profileOrderId: "o1", subscription: "plan01s", quantity: 1, orderedTime: 1, status: secret },
      ]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SoracomInvalidResponseError);
    expect((caught as SoracomInvalidResponseError).path).toBe("/0/status");
    expect((caught as Error).message).not.toContain("TOPSECRET");
  });

  it("read null in an optional member as absent, and keep a required one required", () => {
    const order = { profileOrderId: "o1", subscription: "plan01s", quantity: 1, orderedTime: 1, status: "DRAFT" };
    expect(validAnswer("getProfileOrder", { ...order, speedClass: null })).toEqual(order);
    expect(() => validAnswer("getProfileOrder", { ...order, status: null })).toThrow(/\/status/);
  });

  it("accept a value Soracom adds to a field the operator never reads, never an unknown status", () => {
    const sim = { simId: "s1", status: "active", moduleType: "someNewModule", placement: { region: "sa-east-1" } };
    expect(validAnswer("getSim", sim)).toEqual(sim);
    expect(() => validAnswer("getSim", { ...sim, status: "Cancelled" })).toThrow(/\/status/);
    const sub = { simId: "s1", status: "suspended" };
    expect(() => validAnswer("getSim", { simId: "s1", profiles: { i1: { subscribers: { x: sub } } } })).not.toThrow();
    const bad = { simId: "s1", profiles: { i1: { subscribers: { x: { ...sub, status: "gone" } } } } };
    expect(() => validAnswer("getSim", bad)).toThrow(/\/profiles\/i1\/subscribers\/x\/status/);
  });
});
