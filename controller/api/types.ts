import type { ObjectMeta } from "../kube/object.js";
import type {
  EsimProfileOrderSpec,
  EsimProfileOrderStatus,
  EsimProfileSpec,
  EsimProfileStatus,
  SoracomAccountSpec,
  SoracomAccountStatus,
} from "./types.generated.js";

export type {
  EsimProfileOrderSpec,
  EsimProfileOrderStatus,
  EsimProfileSpec,
  EsimProfileStatus,
  SoracomAccountSpec,
  SoracomAccountStatus,
};

/** Condition is a Kubernetes API convention condition (metav1.Condition), as the CRDs define it. */
export type Condition = NonNullable<EsimProfileOrderStatus["conditions"]>[number];
/** TrackedOrder is one Soracom order in an EsimProfileOrder's status. */
export type TrackedOrder = NonNullable<EsimProfileOrderStatus["orders"]>[number];
/** OrderTotals are the counters shown in printer columns and `kubectl esim status`. */
export type OrderTotals = NonNullable<EsimProfileOrderStatus["totals"]>;
/** DesiredSim is the SIM state an EsimProfile keeps. */
export type DesiredSim = NonNullable<EsimProfileSpec["sim"]>;

/** OwnerReference is metav1.OwnerReference. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Meta is object metadata as the apiserver sends it (plain JSON: timestamps stay RFC 3339 strings). */
export type Meta = ObjectMeta & { ownerReferences?: OwnerReference[] };

/** EsimProfileOrder is the custom resource as read from the apiserver. */
export interface EsimProfileOrder {
  [k: string]: unknown;
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec: EsimProfileOrderSpec;
  status?: EsimProfileOrderStatus;
}

/** EsimProfile is the custom resource as read from the apiserver. */
export interface EsimProfile {
  [k: string]: unknown;
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec: EsimProfileSpec;
  status?: EsimProfileStatus;
}

/** SoracomAccount is the cluster-scoped account resource as read from the apiserver. */
export interface SoracomAccount {
  [k: string]: unknown;
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec: SoracomAccountSpec;
  status?: SoracomAccountStatus;
}
