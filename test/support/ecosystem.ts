import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { findTool, REPO_ROOT } from "../unit/chart-support.js";

/**
 * The ecosystem's own judges of a live object, built from the Go module proxy by
 * test/controlplane/build-go-helpers.sh: kstatus (sigs.k8s.io/cli-utils, what Flux and kpt use) and Argo CD's
 * health evaluation (v3.2.12, with the argocd-cm snippet users merge).
 */

export const kstatusBin = findTool("kstatus");
export const argocdHealthBin = findTool("argocd-health");

export interface KstatusResult {
  kind: string;
  name: string;
  /** InProgress, Current, Failed or Terminating. */
  status: string;
  message: string;
  error?: string;
}

/** kstatus computes the status of objects (or a List) as sigs.k8s.io/cli-utils does. */
export function kstatus(input: object): KstatusResult[] {
  if (!kstatusBin) throw new Error("kstatus is not built: bash test/controlplane/build-go-helpers.sh kstatus");
  return JSON.parse(execFileSync(kstatusBin, [], { input: JSON.stringify(input), encoding: "utf8" }));
}

export interface Health {
  status: string;
  message: string;
  error?: string;
}

export interface ArgoHealth {
  /** The application controller's answer in v3.2.12 (deletion handling included). */
  controller: Health;
  /** The health script's own answer. */
  script: Health;
  /** The script's hs.deletionMessage. */
  deletionMessage: string;
  useOpenLibs: boolean;
}

/** argocdHealth judges objects with Argo CD's code and deploy/argocd/argocd-cm.yaml. */
export function argocdHealth(objects: object[], opts: { useOpenLibs?: boolean } = {}): ArgoHealth[] {
  if (!argocdHealthBin)
    throw new Error("argocd-health is not built: bash test/controlplane/build-go-helpers.sh argocd-health");
  const args = ["--argocd-cm", join(REPO_ROOT, "deploy/argocd/argocd-cm.yaml")];
  if (opts.useOpenLibs) args.push("--use-open-libs");
  return JSON.parse(execFileSync(argocdHealthBin, args, { input: JSON.stringify(objects), encoding: "utf8" }));
}

/**
 * argocd36 is what Argo CD 3.6+ shows, by its rule for objects being deleted (gitops-engine
 * pkg/health.pendingDeletionHealth in v3.6.1): the script's status with hs.deletionMessage when the script
 * set one, else Progressing "Pending deletion" (naming the finalizers). Otherwise the script's answer.
 */
export function argocd36(obj: { metadata?: { deletionTimestamp?: string; finalizers?: string[] } }, h: ArgoHealth) {
  if (!obj.metadata?.deletionTimestamp) return { status: h.controller.status, message: h.controller.message };
  if (h.deletionMessage) return { status: h.script.status, message: h.deletionMessage };
  const finalizers = obj.metadata.finalizers ?? [];
  return {
    status: "Progressing",
    message: finalizers.length
      ? `Pending deletion; blocked by finalizers: ${finalizers.join(", ")}`
      : "Pending deletion",
  };
}
