import { describe, expect, it } from "vitest";
import { dropManagedFields, objectKey, splitKey, toMicroTime } from "../../controller/kube/object.js";
import {
  type Condition,
  type ConditionInput,
  deepEqual,
  getCondition,
  hasFinalizer,
  isConditionTrue,
  mergePatchOf,
  removeCondition,
  setCondition,
  setConditions,
  toKubeTime,
} from "../../controller/kube/status.js";

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const T1 = T0 + 60_000;

const ready = (status: Condition["status"], reason: string, message = "", observedGeneration = 1): Condition => ({
  type: "Ready",
  status,
  reason,
  message,
  observedGeneration,
  lastTransitionTime: toKubeTime(T0),
});

describe("setCondition", () => {
  const cases: Array<{ sentence: string; before: Condition[] | undefined; input: ConditionInput; want: Condition[] }> =
    [
      {
        sentence: "a new condition type is appended with the current time",
        before: undefined,
        input: {
          type: "Ready",
          status: "False",
          reason: "Ordering",
          message: "Creating the order.",
          observedGeneration: 1,
        },
        want: [ready("False", "Ordering", "Creating the order.")],
      },
      {
        sentence: "an unchanged status keeps its lastTransitionTime while reason, message and generation move",
        before: [ready("False", "Ordering", "Creating the order.")],
        input: { type: "Ready", status: "False", reason: "Confirming", message: "Confirming.", observedGeneration: 2 },
        want: [{ ...ready("False", "Confirming", "Confirming.", 2) }],
      },
      {
        sentence: "a changed status takes a new lastTransitionTime",
        before: [ready("False", "Confirming")],
        input: { type: "Ready", status: "True", reason: "Completed", message: "Done.", observedGeneration: 1 },
        want: [{ ...ready("True", "Completed", "Done."), lastTransitionTime: toKubeTime(T1) }],
      },
      {
        sentence: "other condition types are left in place and in order",
        before: [
          {
            type: "Reconciling",
            status: "True",
            reason: "Ordering",
            message: "",
            lastTransitionTime: "2025-01-01T00:00:00Z",
          },
          ready("False", "Ordering"),
        ],
        input: { type: "Reconciling", status: "False", reason: "Completed" },
        want: [
          {
            type: "Reconciling",
            status: "False",
            reason: "Completed",
            message: "",
            lastTransitionTime: toKubeTime(T1),
          },
          ready("False", "Ordering"),
        ],
      },
      {
        sentence: "a missing message becomes an empty string and no observedGeneration is invented",
        before: [],
        input: { type: "Stalled", status: "True", reason: "OrderFailed" },
        want: [
          { type: "Stalled", status: "True", reason: "OrderFailed", message: "", lastTransitionTime: toKubeTime(T1) },
        ],
      },
    ];
  it.each(cases)("$sentence", ({ before, input, want }) => {
    const snapshot = structuredClone(before);
    const now = before === undefined ? T0 : T1;
    expect(setCondition(before, input, now)).toEqual(want);
    expect(before).toEqual(snapshot); // pure: the input is untouched
  });

  it("setConditions applies several inputs with one clock reading", () => {
    const got = setConditions(
      undefined,
      [
        { type: "Ready", status: "False", reason: "Ordering" },
        { type: "Reconciling", status: "True", reason: "Ordering" },
        { type: "Ready", status: "False", reason: "Confirming" },
      ],
      T0,
    );
    expect(got.map((c) => [c.type, c.reason, c.lastTransitionTime])).toEqual([
      ["Ready", "Confirming", toKubeTime(T0)],
      ["Reconciling", "Ordering", toKubeTime(T0)],
    ]);
  });
});

describe("condition queries", () => {
  const conditions: Condition[] = [
    ready("True", "Completed"),
    { type: "Stalled", status: "False", reason: "Completed", message: "", lastTransitionTime: toKubeTime(T0) },
  ];
  const cases: Array<[string, () => unknown, unknown]> = [
    ["getCondition finds a type", () => getCondition(conditions, "Ready")?.reason, "Completed"],
    ["getCondition of a missing type is undefined", () => getCondition(conditions, "Reconciling"), undefined],
    ["isConditionTrue is true for Ready=True", () => isConditionTrue(conditions, "Ready"), true],
    ["isConditionTrue is false for Stalled=False", () => isConditionTrue(conditions, "Stalled"), false],
    ["isConditionTrue is false for no conditions at all", () => isConditionTrue(undefined, "Ready"), false],
    [
      "removeCondition drops only that type",
      () => removeCondition(conditions, "Stalled").map((c) => c.type),
      ["Ready"],
    ],
  ];
  it.each(cases)("%s", (_sentence, got, want) => {
    expect(got()).toEqual(want);
  });
});

describe("small helpers", () => {
  const cases: Array<[string, () => unknown, unknown]> = [
    ["toKubeTime renders whole seconds in UTC", () => toKubeTime(T0), "2026-01-02T03:04:05Z"],
    ["toMicroTime renders six fractional digits", () => toMicroTime(T0), "2026-01-02T03:04:05.678000Z"],
    ["objectKey joins namespace and name", () => objectKey({ metadata: { name: "a", namespace: "ns" } }), "ns/a"],
    ["objectKey of a cluster-scoped object is its name", () => objectKey({ metadata: { name: "a" } }), "a"],
    ["splitKey reverses objectKey", () => splitKey("ns/a"), { namespace: "ns", name: "a" }],
    ["splitKey of a bare name has an empty namespace", () => splitKey("a"), { namespace: "", name: "a" }],
    [
      "dropManagedFields removes only managedFields",
      () => dropManagedFields({ metadata: { name: "a", labels: { x: "y" }, managedFields: [{ manager: "kubectl" }] } }),
      { metadata: { name: "a", labels: { x: "y" } } },
    ],
    ["deepEqual ignores key order", () => deepEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }), true],
    ["deepEqual treats an undefined field as absent", () => deepEqual({ a: 1, b: undefined }, { a: 1 }), true],
    ["deepEqual sees a changed nested value", () => deepEqual({ a: [1, 2] }, { a: [1, 3] }), false],
    ["deepEqual tells an array from an object", () => deepEqual({ a: [] }, { a: {} }), false],
    [
      "hasFinalizer finds a finalizer",
      () => hasFinalizer({ metadata: { name: "a", finalizers: ["x/y"] } }, "x/y"),
      true,
    ],
    [
      "hasFinalizer of an object without finalizers is false",
      () => hasFinalizer({ metadata: { name: "a" } }, "x/y"),
      false,
    ],
  ];
  it.each(cases)("%s", (_sentence, got, want) => {
    expect(got()).toEqual(want);
  });
});

describe("mergePatchOf: the merge patch from one status to the next", () => {
  const cases: Record<string, [unknown, unknown, unknown]> = {
    "equal statuses need no patch": [{ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } }, undefined],
    "a changed value is set": [{ a: 1 }, { a: 2 }, { a: 2 }],
    "a field the next status lacks is removed (null), nested too": [
      { budgets: { termination: { remaining: 0, pausedSince: "t", pauseId: "p" } }, operatorId: "OP" },
      { budgets: { termination: { remaining: 3 } } },
      { budgets: { termination: { remaining: 3, pausedSince: null, pauseId: null } }, operatorId: null },
    ],
    "a list is replaced whole": [{ l: [1, 2, 3] }, { l: [1] }, { l: [1] }],
    "an object replacing a scalar is sent whole": [{ p: 1 }, { p: { a: 1 } }, { p: { a: 1 } }],
  };
  for (const [sentence, [current, next, want]] of Object.entries(cases)) {
    it(sentence, () => expect(mergePatchOf(current, next)).toEqual(want));
  }
});
