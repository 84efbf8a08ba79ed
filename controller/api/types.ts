import type { V1ObjectMeta } from "@kubernetes/client-node";
import type {
  EsimProfileOrderSpec,
  EsimProfileOrderStatus,
  EsimProfileSpec,
  EsimProfileStatus,
} from "./types.generated.js";

export type { EsimProfileOrderSpec, EsimProfileOrderStatus, EsimProfileSpec, EsimProfileStatus };

/** Condition is a Kubernetes API convention condition (metav1.Condition), as the CRDs define it. */
export type Condition = NonNullable<EsimProfileOrderStatus["conditions"]>[number];
/** TrackedOrder is one Soracom order in an EsimProfileOrder's status. */
export type TrackedOrder = NonNullable<EsimProfileOrderStatus["orders"]>[number];
/** OrderTotals are the counters shown in printer columns and `kubectl esim status`. */
export type OrderTotals = NonNullable<EsimProfileOrderStatus["totals"]>;
/** DesiredSim is the SIM state an EsimProfile keeps. */
export type DesiredSim = NonNullable<EsimProfileSpec["sim"]>;

/** EsimProfileOrder is the custom resource as read from the apiserver. */
export interface EsimProfileOrder {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: EsimProfileOrderSpec;
  status?: EsimProfileOrderStatus;
}

/** EsimProfile is the custom resource as read from the apiserver. */
export interface EsimProfile {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: EsimProfileSpec;
  status?: EsimProfileStatus;
}
