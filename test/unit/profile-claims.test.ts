import { describe, expect, it } from "vitest";
import type { EsimProfile } from "../../controller/api/types.js";
import { SimClaims } from "../../controller/profile/claims.js";

// One SIM, one EsimProfile: the older claim holds it, whatever identity each names it by.
const p = (
  ns: string,
  name: string,
  at: string,
  spec: EsimProfile["spec"],
  status: EsimProfile["status"] = {},
): EsimProfile => ({
  metadata: { namespace: ns, name, uid: `${ns}-${name}`, creationTimestamp: at },
  spec,
  status,
});

describe("SimClaims", () => {
  it("the older profile holds a SIM both name by ICCID; the younger is told who holds it", () => {
    const claims = new SimClaims();
    const first = p("team-a", "gw", "2026-01-01T00:00:00Z", { iccid: "8942" });
    const second = p("team-b", "steal", "2026-02-01T00:00:00Z", { iccid: "8942" });
    claims.set(second);
    claims.set(first);
    expect(claims.heldBy(first)).toBeUndefined();
    expect(claims.heldBy(second)).toBe("team-a/gw");
  });

  it("identities resolved later (the SIM ID in status) count as claims too", () => {
    const claims = new SimClaims();
    const byIccid = p("team-a", "gw", "2026-01-01T00:00:00Z", { iccid: "8942" }, { simId: "sim-1" });
    const bySimId = p("team-b", "other", "2026-02-01T00:00:00Z", { simId: "sim-1" });
    claims.set(byIccid);
    claims.set(bySimId);
    expect(claims.heldBy(bySimId)).toBe("team-a/gw");
  });

  it("the SIM as just read finds a holder whose resolved status is not cached yet", () => {
    const claims = new SimClaims();
    const byIccid = p("team-a", "gw", "2026-01-01T00:00:00Z", { iccid: "8942" });
    const bySimId = p("team-a", "second", "2026-02-01T00:00:00Z", { simId: "sim-1" });
    claims.set(byIccid);
    claims.set(bySimId);
    const sim = { simId: "sim-1", profiles: { "8942": { iccid: "8942", primaryImsi: "4401" } } };
    // By their own names they share nothing; by the SIM both resolve to, the older holds it.
    expect(claims.heldBy(bySimId)).toBeUndefined();
    expect(claims.heldBy(bySimId, sim)).toBe("team-a/gw");
    expect(claims.heldBy(byIccid, sim)).toBeUndefined();
  });

  it("made in the same second as the holder, with a smaller UID, it still does not take the held SIM", () => {
    const claims = new SimClaims();
    const at = "2026-01-01T00:00:00Z";
    const holder = {
      ...p("team-a", "holder", at, { iccid: "8942" }, { simId: "sim-1" }),
      metadata: { namespace: "team-a", name: "holder", uid: "ffff", creationTimestamp: at },
    };
    const second = {
      ...p("team-a", "second", at, { simId: "sim-1" }),
      metadata: { namespace: "team-a", name: "second", uid: "0000", creationTimestamp: at },
    };
    claims.set(holder);
    claims.set(second);
    expect(claims.heldBy(second)).toBe("team-a/holder");
    expect(claims.heldBy(holder)).toBeUndefined();
    // Neither resolved yet: the tie falls to the smaller UID, the same answer whoever asks.
    const a = p("x", "a", at, { iccid: "1" });
    const b = {
      ...p("x", "b", at, { iccid: "1" }),
      metadata: { namespace: "x", name: "b", uid: "0", creationTimestamp: at },
    };
    claims.set(a);
    claims.set(b);
    expect([claims.heldBy(a), claims.heldBy(b)]).toEqual(["x/b", undefined]);
  });

  it("once the holder is gone, the next claim holds", () => {
    const claims = new SimClaims();
    const first = p("team-a", "gw", "2026-01-01T00:00:00Z", { imsi: "4401" });
    const second = p("team-b", "next", "2026-02-01T00:00:00Z", { imsi: "4401" });
    claims.set(first);
    claims.set(second);
    claims.remove(first);
    expect(claims.heldBy(second)).toBeUndefined();
  });

  it("profiles of different SIMs never conflict", () => {
    const claims = new SimClaims();
    const a = p("x", "a", "2026-01-01T00:00:00Z", { iccid: "1" });
    const b = p("x", "b", "2026-01-01T00:00:00Z", { iccid: "2" });
    claims.set(a);
    claims.set(b);
    expect([claims.heldBy(a), claims.heldBy(b)]).toEqual([undefined, undefined]);
  });

  it("three claims of one SIM: removing the holder hands it to the next oldest, then to the last", () => {
    const claims = new SimClaims();
    const first = p("team-a", "gw", "2026-01-01T00:00:00Z", { iccid: "8942" });
    const second = p("team-b", "next", "2026-02-01T00:00:00Z", { iccid: "8942" });
    const third = p("team-c", "last", "2026-03-01T00:00:00Z", { iccid: "8942" });
    for (const x of [third, first, second]) claims.set(x);
    expect([claims.heldBy(second), claims.heldBy(third)]).toEqual(["team-a/gw", "team-a/gw"]);
    claims.remove(first);
    expect([claims.heldBy(second), claims.heldBy(third)]).toEqual([undefined, "team-b/next"]);
    claims.remove(second);
    expect(claims.heldBy(third)).toBeUndefined();
  });

  it("an update drops the identities the profile no longer names, and a removed profile claims nothing", () => {
    const claims = new SimClaims();
    const holder = p("team-a", "gw", "2026-01-01T00:00:00Z", { iccid: "8942" });
    const other = p("team-b", "other", "2026-02-01T00:00:00Z", { iccid: "8942" });
    claims.set(holder);
    claims.set(other);
    // The same profile as the informer shows it after an update: another ICCID (the old one released).
    claims.set(p("team-a", "gw", "2026-01-01T00:00:00Z", { iccid: "7777" }));
    expect(claims.heldBy(other)).toBeUndefined();
    const late = p("team-c", "late", "2026-03-01T00:00:00Z", { iccid: "7777" });
    expect(claims.heldBy(late)).toBe("team-a/gw");
    claims.remove(holder); // the delete event carries the object: its recorded claims go, whatever it names
    expect(claims.heldBy(late)).toBeUndefined();
    claims.remove(holder); // twice is harmless
  });

  it("regression (issue 24, defect 2): claims are the Soracom operator's, whatever SoracomAccount names reach it", () => {
    // team-a and team-b are two SoracomAccounts on one credentials Secret: one operator, OP-1.
    const account = (x: EsimProfile) => x.spec.accountRef?.name ?? "";
    const operatorOf: Record<string, string | undefined> = { "team-a": "OP-1", "team-b": "OP-1", other: "OP-2" };
    const claims = new SimClaims({ operatorOf: (x) => operatorOf[account(x)], isOrderChild: () => false });
    const holder = p("team-a", "gw", "2026-01-01T00:00:00Z", { iccid: "8942", accountRef: { name: "team-a" } });
    const thief = p("team-b", "steal", "2026-02-01T00:00:00Z", { iccid: "8942", accountRef: { name: "team-b" } });
    const elsewhere = p("lab", "x", "2026-02-01T00:00:00Z", { iccid: "8942", accountRef: { name: "other" } });
    for (const x of [holder, thief, elsewhere]) claims.set(x);
    expect(claims.heldBy(thief)).toBe("team-a/gw");
    // Another operator cannot own the same SIM: its claim and team-a's do not meet.
    expect(claims.heldBy(elsewhere)).toBeUndefined();
    // An operator not known yet may be the holder's: the younger claim waits.
    operatorOf.other = undefined;
    expect(claims.heldBy(elsewhere)).toBe("team-a/gw");
    // The operator learned at login is asked for explicitly.
    expect(claims.heldBy(elsewhere, undefined, "OP-2")).toBeUndefined();
  });

  it("regression (issue 24, defect 7): an older profile stalled on a held SIM does not take it from the holder made again", () => {
    const claims = new SimClaims();
    const stalled = {
      ...p("team-b", "old", "2026-01-01T00:00:00Z", { iccid: "8942" }),
      status: {
        conditions: [
          {
            type: "Stalled",
            status: "True" as const,
            reason: "SimHeldElsewhere",
            message: "",
            lastTransitionTime: "2026-01-02T00:00:00Z",
          },
        ],
      },
    };
    const holder = p("team-a", "gw", "2026-01-02T00:00:00Z", { iccid: "8942" }, { simId: "sim-1" });
    claims.set(stalled);
    claims.set(holder);
    expect(claims.heldBy(stalled)).toBe("team-a/gw");
    // The holder is deleted and applied again (same name, new UID, nothing resolved yet).
    claims.remove(holder);
    const again = {
      ...p("team-a", "gw", "2026-03-01T00:00:00Z", { iccid: "8942" }),
      metadata: { namespace: "team-a", name: "gw", uid: "new-uid", creationTimestamp: "2026-03-01T00:00:00Z" },
    };
    claims.set(again);
    expect(claims.heldBy(stalled)).toBe("team-a/gw");
    expect(claims.heldBy(again)).toBeUndefined();
  });

  it("regression (issue 24, defect 7): a child its order recorded holds its SIM over an older adoption that resolved it", () => {
    const children = new Set(["team-a/fleet-8942"]);
    const claims = new SimClaims({
      operatorOf: () => "OP-1",
      isOrderChild: (x) => children.has(`${x.metadata.namespace}/${x.metadata.name}`),
    });
    const adopter = p("team-b", "early", "2026-01-01T00:00:00Z", { iccid: "8942" }, { simId: "sim-1" });
    const child = p("team-a", "fleet-8942", "2026-02-01T00:00:00Z", { iccid: "8942" }, { simId: "sim-1" });
    claims.set(adopter);
    claims.set(child);
    expect(claims.heldBy(adopter)).toBe("team-a/fleet-8942");
    expect(claims.heldBy(child)).toBeUndefined();
  });
});
