import { EVENTS, everInstalled, phaseOfProfileStatus, type TerminationReason } from "../api/vocabulary.js";
import { toKubeTime } from "../kube/status.js";
import { simCarries } from "../soracom/identity.js";
import type { OrderedProfile, Sim } from "../soracom/types.js";
import type { ChildProfile, OrderAction, OrderInput, PlannedEvent, TerminationRequest } from "./model.js";
import type { DefaultedSpec } from "./slots.js";

/**
 * Order-driven terminations (onDeviceDeletion Terminate/Replace, scaleDownPolicy TerminateNeverInstalled),
 * pure. A termination is first recorded as a request in the order's status, which only the controller
 * writes; nothing a namespace user writes on an EsimProfile can make one. A later round reads the SIM
 * and the order's profile list fresh and terminates only if the request still holds on those reads:
 * the policy still asks for it, the SIM is still the one recorded and carries the profile's ICCID, and
 * the reason still stands (never installed and still surplus; still deleted on the device). A request
 * that no longer holds is withdrawn with an Event.
 */

export interface TerminationDraft {
  requests: TerminationRequest[];
  actions: OrderAction[];
  events: PlannedEvent[];
}

/** request records a termination for a child, once. */
export function request(d: TerminationDraft, c: ChildProfile, reason: TerminationReason, now: number): void {
  if (d.requests.some((r) => r.profile === c.name) || !c.iccid) return;
  d.requests.push({
    profile: c.name,
    iccid: c.iccid,
    ...(c.simId ? { simId: c.simId } : {}),
    ...(c.profileOrderId ? { profileOrderId: c.profileOrderId } : {}),
    reason: reason as TerminationRequest["reason"],
    requestedTime: toKubeTime(now),
  });
  d.events.push({
    type: "Normal",
    reason: EVENTS.TerminationRequested,
    message: `SIM of EsimProfile ${c.name} (ICCID ${c.iccid}) is to be terminated (${reason}); it is checked against Soracom again right before.`,
  });
}

/** policyWants says whether the order's spec still asks for this kind of termination. */
function policyWants(spec: DefaultedSpec, reason: TerminationRequest["reason"]): boolean {
  switch (reason) {
    case "ScaleDown":
      return spec.scaleDownPolicy === "TerminateNeverInstalled";
    case "DeletedOnDevice":
      return spec.onDeviceDeletion === "Terminate";
    case "Replace":
      return spec.onDeviceDeletion === "Replace";
  }
}

/** Verdict of checking one request against this round's reads. */
type Verdict =
  | { kind: "wait" }
  | { kind: "terminate"; sim: Sim }
  | { kind: "done" }
  | { kind: "withdraw"; why: string };

/**
 * judge checks one recorded request. `surplusLeft` is how many more ScaleDown requests the current
 * surplus still justifies (the caller counts them down, oldest request first).
 */
export function judge(
  r: TerminationRequest,
  input: OrderInput,
  spec: DefaultedSpec,
  child: ChildProfile | undefined,
  surplusLeft: number,
): Verdict {
  if (!child) return { kind: "withdraw", why: "its EsimProfile is gone" };
  if (child.deleting)
    return { kind: "withdraw", why: "its EsimProfile is being deleted and follows its own deletionPolicy" };
  if (!policyWants(spec, r.reason)) return { kind: "withdraw", why: "the order's policy no longer asks for it" };
  if (child.iccid !== r.iccid) return { kind: "withdraw", why: `the EsimProfile now names ICCID ${child.iccid}` };
  if (r.simId && child.simId && child.simId !== r.simId)
    return { kind: "withdraw", why: `the EsimProfile now names SIM ${child.simId}, not ${r.simId}` };
  const simId = r.simId ?? child.simId;
  const read = input.soracom;
  if (!simId || !read || !(simId in read.sims) || !r.profileOrderId || !read.profiles[r.profileOrderId])
    return { kind: "wait" };
  const sim = read.sims[simId];
  if (!sim) return { kind: "withdraw", why: `Soracom has no SIM ${simId}` };
  if ((sim.simId ?? simId) !== simId || !simCarries(sim, { iccid: r.iccid }))
    return { kind: "withdraw", why: `SIM ${simId} does not carry ICCID ${r.iccid}` };
  if (sim.status === "terminated") return { kind: "done" };
  const listed = read.profiles[r.profileOrderId]!.find((p) => p.iccid === r.iccid);
  if (!listed)
    return { kind: "withdraw", why: `Soracom no longer lists ICCID ${r.iccid} in order ${r.profileOrderId}` };
  const why = reasonGone(r.reason, listed, surplusLeft);
  return why ? { kind: "withdraw", why } : { kind: "terminate", sim };
}

/** reasonGone says why the request's own reason no longer holds on the fresh profile, if it does not. */
function reasonGone(reason: TerminationRequest["reason"], p: OrderedProfile, surplusLeft: number): string | undefined {
  const installedTime = p.installedTime ? toKubeTime(p.installedTime) : undefined;
  if (reason === "ScaleDown") {
    if (everInstalled(p.profileStatus, installedTime)) return "the profile was installed on a device meanwhile";
    if (surplusLeft <= 0) return "the order no longer holds more profiles than its quantity";
    return undefined;
  }
  if (phaseOfProfileStatus(p.profileStatus) !== "Deleted") return "the device no longer reports the profile deleted";
  return undefined;
}

/**
 * settle applies the verdicts: a request that holds becomes a terminateSim action (the executor records
 * it in the termination ledger first); one that does not is withdrawn with an Event; one whose SIM is
 * already terminated is marked so. `excess` is how many ScaleDown terminations the current surplus
 * justifies. Returns the requests to keep in status.
 */
export function settle(d: TerminationDraft, input: OrderInput, spec: DefaultedSpec, excess: number): void {
  const byName = new Map(input.children.map((c) => [c.name, c]));
  let surplusLeft = excess;
  const oldestFirst = [...d.requests].sort((a, b) => Date.parse(a.requestedTime) - Date.parse(b.requestedTime));
  const keep = new Set<TerminationRequest>();
  for (const r of oldestFirst) {
    if (r.terminated) {
      const c = byName.get(r.profile);
      if (c && c.phase !== "Terminated" && !c.deleting)
        keep.add(r); // until its status shows it
      else if (c && (r.reason === "Replace" || r.reason === "ScaleDown")) keep.add(r); // until it is deleted
      continue;
    }
    const v = judge(r, input, spec, byName.get(r.profile), r.reason === "ScaleDown" ? surplusLeft : 1);
    if (r.reason === "ScaleDown" && v.kind !== "withdraw") surplusLeft -= 1;
    switch (v.kind) {
      case "wait":
        keep.add(r);
        break;
      case "done":
        keep.add(Object.assign(r, { terminated: true }));
        break;
      case "terminate":
        keep.add(r);
        d.actions.push({
          type: "terminateSim",
          profile: r.profile,
          simId: r.simId ?? v.sim.simId ?? "",
          reason: r.reason,
          enable: v.sim.terminationEnabled !== true,
        });
        break;
      case "withdraw":
        d.events.push({
          type: "Normal",
          reason: EVENTS.TerminationWithdrawn,
          message: `Termination of the SIM of EsimProfile ${r.profile} (${r.reason}) withdrawn: ${v.why}.`,
        });
    }
  }
  d.requests = d.requests.filter((r) => keep.has(r));
}

/** deleteTerminated deletes the EsimProfiles whose SIM a Replace or ScaleDown termination ended. */
export function deleteTerminated(d: TerminationDraft, children: readonly ChildProfile[]): void {
  const byName = new Map(children.map((c) => [c.name, c]));
  for (const r of d.requests) {
    const c = byName.get(r.profile);
    if (!r.terminated || !c || c.deleting || (r.reason !== "Replace" && r.reason !== "ScaleDown")) continue;
    d.actions.push({ type: "deleteProfile", profile: r.profile, reason: r.reason });
  }
}
