import { describe, expect, it } from "vitest";
import { describeSelector, type LabelSelector, matchesSelector } from "../../controller/kube/labels.js";

describe("matchesSelector (metav1.LabelSelector semantics)", () => {
  const labels = { team: "iot", env: "prod" };
  const cases: Array<[string, LabelSelector, Record<string, string> | undefined, boolean]> = [
    ["an empty selector matches everything", {}, labels, true],
    ["an empty selector matches a namespace without labels", {}, undefined, true],
    ["matchLabels must all be present", { matchLabels: { team: "iot" } }, labels, true],
    ["a different value does not match", { matchLabels: { team: "ops" } }, labels, false],
    ["a missing label does not match", { matchLabels: { owner: "x" } }, labels, false],
    ["In", { matchExpressions: [{ key: "env", operator: "In", values: ["prod", "stage"] }] }, labels, true],
    ["In without the label", { matchExpressions: [{ key: "tier", operator: "In", values: ["a"] }] }, labels, false],
    ["NotIn", { matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, labels, false],
    [
      "NotIn without the label",
      { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["a"] }] },
      labels,
      true,
    ],
    ["Exists", { matchExpressions: [{ key: "team", operator: "Exists" }] }, labels, true],
    ["DoesNotExist", { matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }, labels, false],
    [
      "an operator nobody knows matches nothing",
      { matchExpressions: [{ key: "team", operator: "Like" as "In", values: ["i"] }] },
      labels,
      false,
    ],
  ];
  for (const [sentence, selector, l, want] of cases)
    it(sentence, () => expect(matchesSelector(selector, l)).toBe(want));

  it("describes a selector the way kubectl writes one", () => {
    expect(
      describeSelector({
        matchLabels: { team: "iot" },
        matchExpressions: [
          { key: "env", operator: "In", values: ["prod", "stage"] },
          { key: "frozen", operator: "DoesNotExist" },
        ],
      }),
    ).toBe("team=iot,env in (prod,stage),!frozen");
    expect(describeSelector({})).toBe("(every namespace)");
  });
});
