import crypto from "node:crypto";
import type { EsimProfile, EsimProfileOrder } from "../controller/api/types.js";
import { CONDITIONS, REASONS } from "../controller/api/vocabulary.js";
import { toKubeTime } from "../controller/kube/object.js";
import { resourcePath } from "../controller/kube/rest.js";
import { ORDER_REF, PROFILE_REF } from "../controller/api/vocabulary.js";
import { buildProfile } from "../controller/order/profiles.js";
import { activationSecretName, buildActivationSecret } from "../controller/order/secret.js";
import type { OrderedProfile } from "../controller/soracom/types.js";
import type { BenchCluster } from "./cluster.js";
import { ReadyWatch } from "./readiness.js";
import { createOrGet, withRetries } from "./retry.js";

/**
 * The ceiling: what the apiserver on this machine can take for the same job without the operator. A
 * plain loop creates the same objects the operator creates for N ordered profiles (the EsimProfile, its
 * activation Secret with the QR code rendered by the same function) and writes each profile's final
 * status in one merge patch, `parallelism` profiles at a time. Its time is measured like the operator's:
 * from the first request to the watch showing the N-th profile Ready. No Soracom call is involved.
 */

export interface CeilingResult {
  profiles: number;
  parallelism: number;
  wallMs: number;
  profilesPerSecond: number;
  requests: number;
}

export async function runCeiling(cluster: BenchCluster, n: number, parallelism: number): Promise<CeilingResult> {
  // A fresh apiserver is slow on its first requests for a kind (caches, connections, QR library): warm
  // it up with a small run first, so neither the ceiling nor the operator after it pays for that.
  await measure(cluster, Math.min(n, 100), parallelism);
  return measure(cluster, n, parallelism);
}

async function measure(cluster: BenchCluster, n: number, parallelism: number): Promise<CeilingResult> {
  const namespace = await cluster.createNamespace("bench-ceiling");
  const watch = await new ReadyWatch(cluster.kube, namespace).start();
  const order = await pausedOrder(cluster, namespace, n);
  const started = Date.now();
  const done = watch.until(n, 30 * 60_000);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await createOne(cluster, order, fakeOrderedProfile(i), i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, n) }, worker));
  const readyAt = await done;
  await watch.stop();
  const wallMs = readyAt - started;
  await cluster.deleteProfilesAndSecrets(namespace);
  return { profiles: n, parallelism, wallMs, profilesPerSecond: n / (wallMs / 1000), requests: 3 * n };
}

async function createOne(cluster: BenchCluster, order: EsimProfileOrder, p: OrderedProfile, i: number) {
  const desired = buildProfile(order, p);
  desired.metadata.finalizers = []; // so the namespace can be emptied afterwards; same bytes otherwise
  const ns = order.metadata.namespace;
  const profiles = resourcePath({ ...PROFILE_REF, namespace: ns });
  const profile = await createOrGet(
    () => cluster.kube.request<EsimProfile>({ method: "POST", path: profiles, body: desired }),
    () => cluster.kube.request<EsimProfile>({ path: `${profiles}/${desired.metadata.name}` }),
  );
  const secret = buildActivationSecret(profile, p);
  const secrets = `/api/v1/namespaces/${ns}/secrets`;
  await createOrGet(
    () => cluster.kube.request({ method: "POST", path: secrets, body: secret }),
    () => cluster.kube.request({ path: `${secrets}/${secret.metadata?.name}` }),
  );
  await withRetries(() =>
    cluster.kube.request({
      method: "PATCH",
      path: resourcePath({ ...PROFILE_REF, namespace: ns }, profile.metadata.name, "status"),
      contentType: "application/merge-patch+json",
      body: { status: finalStatus(profile, p, i) },
    }),
  );
}

/** finalStatus is the status the operator ends with for an order-created profile, written at once. */
function finalStatus(profile: EsimProfile, p: OrderedProfile, i: number) {
  const now = toKubeTime(Date.now());
  const simId = String(8_900_000_000_000_000_000n + BigInt(i));
  const condition = (type: string, reason: string, message: string) => ({
    type,
    status: "True",
    reason,
    message,
    observedGeneration: 1,
    lastTransitionTime: now,
  });
  return {
    iccid: p.iccid,
    imsi: p.imsi,
    profileOrderId: p.profileOrderId,
    subscription: p.subscription,
    profileStatus: p.profileStatus,
    lastModifiedTime: toKubeTime(p.lastModifiedTime),
    activationSecretRef: { name: activationSecretName(profile.metadata.name ?? "") },
    phase: "Registered",
    observedGeneration: 1,
    simId,
    simStatus: "ready",
    speedClass: "s1.standard",
    terminationEnabled: false,
    conditions: [
      condition(CONDITIONS.simSynced, REASONS.Synced, `SIM ${simId} is known; spec.sim asks for nothing.`),
      condition(CONDITIONS.ready, REASONS.Completed, `SIM ${simId} is known.`),
    ],
  };
}

/**
 * pausedOrder is a real, paused EsimProfileOrder to own the ceiling's profiles: owned by an order that does
 * not exist, a garbage collector (kube-controller-manager, on the shared test control plane) deletes them.
 */
async function pausedOrder(cluster: BenchCluster, namespace: string, quantity: number): Promise<EsimProfileOrder> {
  return cluster.kube.request<EsimProfileOrder>({
    method: "POST",
    path: resourcePath({ ...ORDER_REF, namespace }),
    body: {
      apiVersion: "esim.soracom-operator.io/v1alpha1",
      kind: "EsimProfileOrder",
      metadata: { name: "ceiling" },
      spec: { subscription: "planX3", quantity, paused: true },
    },
  });
}

/** fakeOrderedProfile looks like the simulator's: 19-digit ICCID, 15-digit IMSI, an LPA activation code. */
function fakeOrderedProfile(i: number): OrderedProfile {
  const now = Date.now();
  const matchingId = crypto.randomBytes(12).toString("hex").toUpperCase();
  const smdpAddress = "smdp.simulator.soracom.local";
  return {
    profileOrderId: `ceiling-${Math.floor(i / 20)}`,
    iccid: `8981${String(100_000_000_000_000 + i).padStart(15, "0")}`,
    imsi: `44010${String(i).padStart(10, "0")}`,
    matchingId,
    smdpAddress,
    activationCode: `LPA:1$${smdpAddress}$${matchingId}`,
    profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
    createdTime: now,
    lastModifiedTime: now,
    subscription: "planX3",
  } as OrderedProfile;
}
