import https from "node:https";
import type { ControllerRun } from "./controller.js";

/**
 * Reading Prometheus text: the controller's own /metrics (memory, CPU, work queues) and the apiserver's
 * (requests it served, by verb and resource).
 */

/** Sample is one prometheus sample line. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** sumMetric adds up every sample of name whose labels include the given ones. */
export function sumMetric(text: string | Sample[], name: string, labels: Record<string, string> = {}): number {
  const samples = typeof text === "string" ? parseSamples(text) : text;
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** MemorySample is what the sampler keeps of one scrape. */
export interface MemorySample {
  at: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** V8 heap committed (used + free pages it has not given back) and memory outside it (Buffers). */
  heapTotalBytes: number;
  externalBytes: number;
  cpuSeconds: number;
}

/**
 * MemorySampler scrapes the controller's /metrics every intervalMs and keeps the peaks of resident
 * memory and used heap (prom-client's default process metrics). A scrape that fails (the process is
 * stopping) is skipped.
 */
export class MemorySampler {
  readonly samples: MemorySample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;

  constructor(
    private readonly run: ControllerRun,
    private readonly intervalMs = 1_000,
  ) {}

  start(): this {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sample();
  }

  async sample(): Promise<MemorySample | undefined> {
    if (this.inFlight) return undefined;
    this.inFlight = true;
    try {
      const samples = parseSamples(await this.run.metrics());
      const s: MemorySample = {
        at: Date.now(),
        rssBytes: sumMetric(samples, "process_resident_memory_bytes"),
        heapUsedBytes: sumMetric(samples, "nodejs_heap_size_used_bytes"),
        heapTotalBytes: sumMetric(samples, "nodejs_heap_size_total_bytes"),
        externalBytes: sumMetric(samples, "nodejs_external_memory_bytes"),
        cpuSeconds: sumMetric(samples, "process_cpu_seconds_total"),
      };
      this.samples.push(s);
      return s;
    } catch {
      return undefined;
    } finally {
      this.inFlight = false;
    }
  }

  peak(): { rssBytes: number; heapUsedBytes: number } {
    let rssBytes = 0;
    let heapUsedBytes = 0;
    for (const s of this.samples) {
      rssBytes = Math.max(rssBytes, s.rssBytes);
      heapUsedBytes = Math.max(heapUsedBytes, s.heapUsedBytes);
    }
    return { rssBytes, heapUsedBytes };
  }

  /** atPeakRss is the scrape with the most resident memory: what it was made of when it peaked. */
  atPeakRss(): MemorySample | undefined {
    let top: MemorySample | undefined;
    for (const s of this.samples) if (!top || s.rssBytes > top.rssBytes) top = s;
    return top;
  }
}

/**
 * The resources the operator reads and writes; apiserver requests for others are not its own. Leases are
 * left out: the bench runs without --leader-elect, and the apiserver renews its own identity Lease (6 PUTs
 * a minute) that would be counted as the operator's.
 */
const OPERATOR_RESOURCES = new Set(["esimprofileorders", "esimprofiles", "secrets", "events", "configmaps"]);

/** ApiserverCounts are requests served by the apiserver, by "VERB resource". */
export type ApiserverCounts = Record<string, number>;

/** apiserverRequests scrapes apiserver_request_total for the operator's resources, summed by verb and resource. */
export async function apiserverRequests(server: string, caPem: string, token: string): Promise<ApiserverCounts> {
  const text = await getText(`${server}/metrics`, caPem, token);
  const out: ApiserverCounts = {};
  for (const s of parseSamples(text)) {
    if (s.name !== "apiserver_request_total") continue;
    const resource = s.labels.resource ?? "";
    if (!OPERATOR_RESOURCES.has(resource)) continue;
    const key = `${s.labels.verb} ${resource}${s.labels.subresource ? `/${s.labels.subresource}` : ""}`;
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** diffCounts is after − before, dropping zeros. */
export function diffCounts(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function getText(url: string, ca: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if ((res.statusCode ?? 0) !== 200) reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
        else resolve(text);
      });
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}
