import { describe, expect, it } from "vitest";
import { createOrGet, transient, withRetries } from "../../bench/retry.js";
import { KubeTimeoutError, kubeApiError } from "../../controller/kube/errors.js";

// The bench's ceiling loop on a loaded machine: one apiserver timeout must not end the run, and a create
// whose first attempt timed out after making the object must read it rather than fail on AlreadyExists.

const noSleep = { sleep: async () => {}, baseDelayMs: 1 };
const timeout = () => kubeApiError(504, { reason: "Timeout", message: "request did not complete within 60s" });
const exists = () => kubeApiError(409, { reason: "AlreadyExists", message: "already exists" });

/** scripted answers each call with the next outcome: an Error is thrown, anything else returned. */
function scripted<T>(...outcomes: Array<T | Error>) {
  const calls: number[] = [];
  const fn = async () => {
    calls.push(calls.length);
    const o = outcomes[Math.min(calls.length - 1, outcomes.length - 1)];
    if (o instanceof Error) throw o;
    return o as T;
  };
  return { fn, calls };
}

describe("the bench's retries of its own apiserver calls", () => {
  it("tells transient failures from final ones", () => {
    expect([timeout(), new KubeTimeoutError("no answer"), kubeApiError(429, {})].map(transient)).toEqual([
      true,
      true,
      true,
    ]);
    expect([kubeApiError(422, { reason: "Invalid" }), exists(), new Error("bug")].map(transient)).toEqual([
      false,
      false,
      false,
    ]);
  });

  it("tries a timed-out call again and returns its answer", async () => {
    const s = scripted<string>(timeout(), "ok");
    await expect(withRetries(s.fn, noSleep)).resolves.toBe("ok");
    expect(s.calls.length).toBe(2);
  });

  it("gives up after its attempts, and at once on a final error", async () => {
    const t = scripted<string>(timeout());
    await expect(withRetries(t.fn, { ...noSleep, attempts: 3 })).rejects.toMatchObject({ status: 504 });
    expect(t.calls.length).toBe(3);
    const bad = scripted<string>(kubeApiError(422, { reason: "Invalid" }), "ok");
    await expect(withRetries(bad.fn, noSleep)).rejects.toMatchObject({ status: 422 });
    expect(bad.calls.length).toBe(1);
  });

  it("reads the object a timed-out create made, instead of failing on AlreadyExists", async () => {
    const create = scripted<string>(timeout(), exists());
    const get = scripted("made by the first attempt");
    await expect(createOrGet(create.fn, get.fn, noSleep)).resolves.toBe("made by the first attempt");
    expect([create.calls.length, get.calls.length]).toEqual([2, 1]);
  });

  it("AlreadyExists on the first try is an error: the object was there before the bench", async () => {
    const create = scripted<string>(exists());
    const get = scripted("someone else's");
    await expect(createOrGet(create.fn, get.fn, noSleep)).rejects.toMatchObject({ reason: "AlreadyExists" });
    expect(get.calls.length).toBe(0);
  });
});
