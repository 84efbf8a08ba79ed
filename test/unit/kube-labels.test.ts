import { describe, expect, it } from "vitest";
import { describeSelector, type LabelSelector, matchesSelector, parseSelector } from "../../controller/kube/labels.js";
import { Shard } from "../../controller/kube/shard.js";

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

describe("parseSelector (kubectl's selector syntax, for --shard-selector)", () => {
  const cases: Array<[string, string, LabelSelector]> = [
    ["equality", "shard=a", { matchLabels: { shard: "a" }, matchExpressions: [] }],
    [
      "double equals and a prefixed key",
      "esim.example/shard==b",
      { matchLabels: { "esim.example/shard": "b" }, matchExpressions: [] },
    ],
    [
      "inequality",
      "shard!=a",
      { matchLabels: {}, matchExpressions: [{ key: "shard", operator: "NotIn", values: ["a"] }] },
    ],
    [
      "sets, with commas inside and between",
      "shard in (a, b),env notin (dev)",
      {
        matchLabels: {},
        matchExpressions: [
          { key: "shard", operator: "In", values: ["a", "b"] },
          { key: "env", operator: "NotIn", values: ["dev"] },
        ],
      },
    ],
    [
      "exists and does not exist",
      "team,!legacy",
      {
        matchLabels: {},
        matchExpressions: [
          { key: "team", operator: "Exists" },
          { key: "legacy", operator: "DoesNotExist" },
        ],
      },
    ],
  ];
  for (const [sentence, text, want] of cases) it(sentence, () => expect(parseSelector(text)).toEqual(want));

  it("refuses what is not a selector", () => {
    for (const bad of ["", "a=b,", "shard in a,b", "a b", "(x)"])
      expect(() => parseSelector(bad), bad).toThrow(SyntaxError);
  });

  it("a shard owns the namespaces its selector matches, and none it does not know yet", () => {
    const labels: Record<string, Record<string, string>> = { a1: { shard: "a" }, b1: { shard: "b" }, plain: {} };
    const shard = new Shard("a", parseSelector("shard=a"), (ns) => labels[ns]);
    expect(["a1", "b1", "plain", "unknown"].map((ns) => shard.owns(ns))).toEqual([true, false, false, false]);
    expect(shard.owns(undefined)).toBe(true); // cluster-scoped objects (SoracomAccounts) are every shard's to read
    expect(shard.describe()).toBe("a (shard=a)");
  });
});
