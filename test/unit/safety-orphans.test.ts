import { describe, expect, it } from "vitest";
import {
  findOrphans,
  type OrphanScope,
  type OrphanVerdict,
  orphanCounts,
  ownerHint,
} from "../../controller/order/orphans.js";
import { orderDescription, orderToken } from "../../controller/order/tokens.js";
import type { ProfileOrder } from "../../controller/soracom/types.js";

const LIVE = "11111111-2222-4333-8444-555555555555";
const GONE = "99999999-8888-4777-8666-555555555555";

function soracomOrder(id: string, status: string, description?: string, quantity = 20): ProfileOrder {
  return {
    profileOrderId: id,
    subscription: "planX3",
    quantity,
    status,
    orderedTime: 1_700_000_000_000,
    ...(description === undefined ? {} : { description }),
  } as ProfileOrder;
}

const described = (uid: string, seq: number, ns = "fleet", name = "devices") =>
  orderDescription(orderToken(uid, seq), ns, name);

const scope = (over: Partial<OrphanScope> = {}): OrphanScope => ({
  namespaces: [],
  knownUids: new Set([LIVE]),
  dryRun: false,
  cancelDrafts: true,
  ...over,
});

const verdict = (id: string, status: string, action: OrphanVerdict["action"], seq = 1): OrphanVerdict => ({
  profileOrderId: id,
  status,
  quantity: 20,
  uid: GONE,
  sequence: seq,
  action,
  owner: { namespace: "fleet", name: "devices", complete: true, namespaceCut: false },
});

describe("findOrphans", () => {
  const cases: Record<string, { listed: ProfileOrder[]; scope: OrphanScope; want: OrphanVerdict[] }> = {
    "an order of a resource that exists is not an orphan, even when its status does not list it yet (adoption)": {
      listed: [soracomOrder("o-1", "DRAFT", described(LIVE, 7))],
      scope: scope(),
      want: [],
    },
    "a DRAFT whose resource is gone is cancelled": {
      listed: [soracomOrder("o-1", "DRAFT", described(GONE, 1))],
      scope: scope(),
      want: [verdict("o-1", "DRAFT", "cancel")],
    },
    "a DRAFT whose resource is gone is only reported in dry run": {
      listed: [soracomOrder("o-1", "DRAFT", described(GONE, 1))],
      scope: scope({ dryRun: true }),
      want: [verdict("o-1", "DRAFT", "report")],
    },
    "a DRAFT whose resource is gone is only reported under --orphan-drafts report (another installation's draft)": {
      listed: [soracomOrder("o-1", "DRAFT", described(GONE, 1))],
      scope: scope({ cancelDrafts: false }),
      want: [verdict("o-1", "DRAFT", "report")],
    },
    "confirmed, in-progress, completed and failed orphans are only reported, never confirmed or cancelled": {
      listed: ["CONFIRMED", "IN_PROGRESS", "COMPLETED", "FAILED"].map((s, i) =>
        soracomOrder(`o-${i}`, s, described(GONE, i + 1)),
      ),
      scope: scope(),
      want: ["CONFIRMED", "IN_PROGRESS", "COMPLETED", "FAILED"].map((s, i) => verdict(`o-${i}`, s, "report", i + 1)),
    },
    "orders without this operator's token (made by hand or by another tool) are not ours to judge": {
      listed: [
        soracomOrder("o-1", "DRAFT"),
        soracomOrder("o-2", "DRAFT", "spare SIMs for the lab"),
        soracomOrder("o-3", "DRAFT", `other-operator:${GONE}:1 fleet/devices`),
        soracomOrder("o-4", "DRAFT", `soracom-esim-operator:${GONE}:x`),
      ],
      scope: scope(),
      want: [],
    },
    "a controller watching some namespaces judges only orders whose description names one of them": {
      listed: [
        soracomOrder("o-1", "DRAFT", described(GONE, 1, "fleet")),
        soracomOrder("o-2", "DRAFT", described(GONE, 2, "other-team")),
        soracomOrder("o-3", "DRAFT", orderToken(GONE, 3)),
      ],
      scope: scope({ namespaces: ["fleet"] }),
      want: [verdict("o-1", "DRAFT", "cancel")],
    },
    "a controller watching a long namespace judges an order whose description was cut inside it": {
      listed: [
        soracomOrder("o-1", "DRAFT", described(GONE, 1, "team-with-a-very-long-namespace-name-for-its-fleet", "x")),
        soracomOrder("o-2", "DRAFT", described(GONE, 2, "team-with-a-very-long-other-namespace-name", "x")),
      ],
      scope: scope({ namespaces: ["team-with-a-very-long-namespace-name-for-its-fleet"] }),
      want: [
        {
          ...verdict("o-1", "DRAFT", "cancel"),
          owner: {
            namespace: "team-with-a-very-long-namespace-name-fo",
            name: "",
            complete: false,
            namespaceCut: true,
          },
        },
      ],
    },
    "a shard judges only orphans of namespaces it owns: another shard's are that shard's to cancel": {
      listed: [
        soracomOrder("o-1", "DRAFT", described(GONE, 1, "fleet")),
        soracomOrder("o-2", "DRAFT", described(GONE, 2, "other-shard")),
        soracomOrder("o-3", "DRAFT", orderToken(GONE, 3)),
        soracomOrder("o-4", "DRAFT", described(GONE, 4, "deleted-namespace")),
      ],
      scope: scope({ shard: { owns: (ns) => ns === "fleet", known: () => ["fleet", "other-shard"] } }),
      want: [verdict("o-1", "DRAFT", "cancel")],
    },
    "a shard judges a description cut inside a namespace only when every namespace it may be is the shard's": {
      listed: [
        soracomOrder("o-1", "DRAFT", described(GONE, 1, "team-with-a-very-long-namespace-name-for-its-fleet", "x")),
        soracomOrder("o-2", "DRAFT", described(GONE, 2, "other-team-with-a-very-long-namespace-name-a", "x")),
      ],
      scope: scope({
        shard: {
          owns: (ns) => ns.startsWith("team-") || ns === "other-team-with-a-very-long-namespace-name-a",
          known: () => [
            "team-with-a-very-long-namespace-name-for-its-fleet",
            "other-team-with-a-very-long-namespace-name-a",
            "other-team-with-a-very-long-namespace-name-b", // another shard's, and the cut prefix fits it too
          ],
        },
      }),
      want: [
        {
          ...verdict("o-1", "DRAFT", "cancel"),
          owner: {
            namespace: "team-with-a-very-long-namespace-name-fo",
            name: "",
            complete: false,
            namespaceCut: true,
          },
        },
      ],
    },
    "a controller watching every namespace judges an order whose description lost its namespace/name": {
      listed: [soracomOrder("o-3", "DRAFT", orderToken(GONE, 3))],
      scope: scope(),
      want: [{ profileOrderId: "o-3", status: "DRAFT", quantity: 20, uid: GONE, sequence: 3, action: "cancel" }],
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      expect(findOrphans(c.listed, c.scope)).toEqual(c.want);
    });
  }
});

describe("ownerHint", () => {
  const cases: Record<string, { description: string | undefined; want: ReturnType<typeof ownerHint> }> = {
    "reads namespace and name after the token": {
      description: described(GONE, 1, "fleet", "devices"),
      want: { namespace: "fleet", name: "devices", complete: true, namespaceCut: false },
    },
    "a description cut at 100 characters keeps the namespace but its name is not complete": {
      description: described(GONE, 12, "fleet", "a-very-long-resource-name-that-does-not-fit"),
      want: { namespace: "fleet", name: "a-very-long-resource-name-that-d", complete: false, namespaceCut: false },
    },
    "a description cut inside the namespace keeps the namespace's beginning": {
      description: described(GONE, 1, "a-very-long-namespace-name-that-does-not-fit-either", "x"),
      want: { namespace: "a-very-long-namespace-name-that-does-no", name: "", complete: false, namespaceCut: true },
    },
    "a token alone (no namespace/name) has no hint": { description: orderToken(GONE, 1), want: undefined },
    "no description, no hint": { description: undefined, want: undefined },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      expect(ownerHint(c.description)).toEqual(c.want);
    });
  }
});

describe("orphanCounts", () => {
  it("counts the orphans left after the sweep by status: a cancelled draft is no longer one", () => {
    const verdicts = [
      verdict("o-1", "DRAFT", "cancel"),
      verdict("o-2", "DRAFT", "cancel"),
      verdict("o-3", "CONFIRMED", "report"),
      verdict("o-4", "COMPLETED", "report"),
      verdict("o-5", "COMPLETED", "report"),
    ];
    expect(Object.fromEntries(orphanCounts(verdicts, new Set(["o-1"])))).toEqual({
      DRAFT: 1,
      CONFIRMED: 1,
      COMPLETED: 2,
    });
  });
});
