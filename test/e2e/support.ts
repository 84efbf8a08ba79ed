import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { type SimCall, SimControl } from "../support/soracom-sim.js";

/**
 * What the e2e scenarios share: kubectl, helm and ctr against the cluster scripts/e2e/up.sh started (the
 * scenarios run in its network namespace), the simulator's call log, and the per-scenario counts table.
 */

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the scenarios with make e2e (scripts/e2e/run.sh)`);
  return v;
}
export const E2E = {
  kubeconfig: need("E2E_KUBECONFIG"),
  kubectl: need("KUBECTL_BIN"),
  helm: need("HELM_BIN"),
  /** How to run ctr on the node: `ctr --address $E2E_SOCK` here, `docker exec <node> ctr` on kind (E2E_CTR). */
  ctr: process.env.E2E_CTR?.split(" ") ?? ["ctr", "--address", need("E2E_SOCK")],
  simulator: need("E2E_SIMULATOR_URL"),
  results: process.env.E2E_RESULTS,
  operatorNamespace: "esim-system",
  release: "soracom-esim-operator",
};
export const API = `${GROUP}/${VERSION}`;
export const sim = new SimControl(E2E.simulator);

/** run runs a program, with stdin if given; rejects with its stderr when it exits non-zero. */
export function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err || out}`)),
    );
    child.stdin.end(input ?? "");
  });
}
export const kubectl = (args: string[], input?: string) =>
  run(E2E.kubectl, ["--kubeconfig", E2E.kubeconfig, ...args], input);
export const helm = (args: string[]) => run(E2E.helm, ["--kubeconfig", E2E.kubeconfig, ...args]);
export const ctr = (args: string[]) => run(E2E.ctr[0]!, [...E2E.ctr.slice(1), "-n", "k8s.io", ...args]);
export const esim = (args: string[]) =>
  run(process.execPath, ["dist/plugin/cli.js", ...args, "--kubeconfig", E2E.kubeconfig]);

export async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, "-o", "json"])) as T;
}
export async function items<T = K8sObject>(args: string[]): Promise<T[]> {
  return (await json<{ items: T[] }>(args)).items;
}
export async function apply(yaml: string): Promise<void> {
  await kubectl(["apply", "-f", "-"], yaml);
}

export interface K8sObject {
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    finalizers?: string[];
    ownerReferences?: Array<{ kind: string; name: string; uid: string }>;
  };
  spec?: Record<string, unknown>;
  status?: {
    phase?: string;
    simId?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    activationSecretRef?: { name: string };
    orders?: Array<{ profileOrderId?: string; quantity: number; status?: string }>;
  };
}

/** waitFor polls until check returns a value other than undefined/false, or throws after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`waited ${timeoutMs} ms for ${what}${last ? `; last error: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function namespace(name: string): Promise<void> {
  await apply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}, labels: {soracom-esim-e2e: "true"}}\n`);
}

export function order(ns: string, name: string, quantity: number, extra = ""): string {
  return `apiVersion: ${API}
kind: EsimProfileOrder
metadata: {name: ${name}, namespace: ${ns}}
spec:
  subscription: planX3
  quantity: ${quantity}
  confirmation: Automatic
  profileTemplate: {spec: {deletionPolicy: Terminate}}
${extra}`;
}

export const condition = (o: K8sObject, type: string) => o.status?.conditions?.find((c) => c.type === type);

/** The simulator's operations the scenarios judge by (successful calls only). */
export const OPERATIONS = {
  creates: "createProfileOrder",
  confirms: "confirmProfileOrder",
  cancels: "deleteProfileOrder",
  terminates: "terminateSim",
} as const;
export type Counts = Record<keyof typeof OPERATIONS, number>;

export async function calls(): Promise<SimCall[]> {
  return (await sim.calls()).calls.filter((c) => c.status < 400);
}
export function countOf(list: SimCall[]): Counts {
  const out = {} as Counts;
  for (const [k, op] of Object.entries(OPERATIONS))
    out[k as keyof Counts] = list.filter((c) => c.operation === op).length;
  return out;
}

/** Window: the simulator's successful calls from the moment it was opened. */
export async function window() {
  const start = (await sim.calls()).calls.length;
  return {
    async calls(): Promise<SimCall[]> {
      return (await sim.calls()).calls.slice(start).filter((c) => c.status < 400);
    },
    async counts(): Promise<Counts> {
      return countOf(await this.calls());
    },
  };
}

const table: Array<{ scenario: string } & Counts> = [];
export function record(scenario: string, counts: Counts): void {
  table.push({ scenario, ...counts });
}
export function printTable(): void {
  const cols = ["creates", "confirms", "cancels", "terminates"] as const;
  const line = (first: string, rest: string[]) =>
    `| ${first.padEnd(36)} | ${rest.map((v, i) => v.padStart(cols[i]!.length)).join(" | ")} |`;
  const text = [
    line("scenario", [...cols]),
    ...table.map((r) =>
      line(
        r.scenario,
        cols.map((c) => String(r[c])),
      ),
    ),
  ];
  console.log(`\nSimulator calls per scenario (successful):\n${text.join("\n")}\n`);
  if (E2E.results) writeFileSync(E2E.results, `${JSON.stringify(table, null, 2)}\n`);
}
