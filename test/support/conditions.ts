import { expect } from "vitest";

/**
 * expectConventionalConditions checks a status's conditions against the API conventions this operator
 * follows: Ready exactly once; every other type only while True; each with a CamelCase reason and a message.
 */
export function expectConventionalConditions(
  conditions: ReadonlyArray<{ type: string; status: string; reason: string; message: string }> = [],
): void {
  expect(conditions.filter((c) => c.type === "Ready")).toHaveLength(1);
  for (const c of conditions) {
    if (c.type !== "Ready") expect(c, `${c.type} is written only while it holds`).toMatchObject({ status: "True" });
    expect(c.reason, `${c.type} has a reason`).toMatch(/^[A-Z][A-Za-z]+$/);
    expect(c.message, `${c.type} has a message`).not.toBe("");
  }
}
