import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder, SoracomAccount } from "../../controller/api/types.js";
import { ACTIVATION_SECRET, ANNOTATIONS, LABELS } from "../../controller/api/vocabulary.js";
import { EXIT } from "../../plugin/errors.js";
import { main, version } from "../../plugin/main.js";
import { decodePdfQrs } from "../support/pdf-qr.js";
import { anOrder, connectTo, FakeCluster, RecordingIo } from "./plugin-fakes.js";

// The day-two verbs of kubectl esim (issue 25): resume, ack, refresh, status -w, qr ORDER, completion,
// version, and what a person sees after a typo.

const b64 = (s: string) => Buffer.from(s).toString("base64");

function aProfile(namespace: string, order: string, iccid: string): EsimProfile {
  const name = `${order}-${iccid}`;
  return {
    metadata: { name, namespace, labels: { [LABELS.order]: order }, resourceVersion: "1" },
    spec: {},
    status: { iccid, simId: iccid, activationSecretRef: { name: `${name}${ACTIVATION_SECRET.suffix}` } },
  };
}

function aSecret(p: EsimProfile, code: string): V1Secret {
  return {
    metadata: { name: `${p.metadata.name}${ACTIVATION_SECRET.suffix}`, namespace: p.metadata.namespace },
    type: ACTIVATION_SECRET.type,
    data: { activationCode: b64(code) },
  };
}

function fleet(profiles = 2): FakeCluster {
  const c = new FakeCluster();
  c.orders.push(anOrder("sensors", "fleet-a"));
  for (let i = 1; i <= profiles; i++) {
    const p = aProfile("fleet-a", "sensors", `898110000000000${String(i).padStart(4, "0")}`);
    c.profiles.push(p);
    c.secrets.push(aSecret(p, `LPA:1$smdp.example$MATCHING-${i}`));
  }
  return c;
}

const run = async (argv: string[], cluster = fleet(), io = new RecordingIo()) => {
  const code = await main(argv, io, connectTo(cluster));
  return { code, out: io.out, err: io.err };
};

describe("friendly errors: one line, the command's usage, exit 2", () => {
  it("an unknown flag names the flag and the command, shows its usage, and never Node's parser text", async () => {
    const r = await run(["status", "--colour"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err.split("\n")[0]).toBe('kubectl-esim: unknown flag --colour for "kubectl esim status"');
    expect(r.err).toContain("Usage:\n  kubectl esim status [ORDER]");
    expect(r.err).toContain("Run 'kubectl esim status --help' for usage.");
    expect(r.err).not.toMatch(/positional argument|ERR_PARSE_ARGS/);
  });
  it("a near miss of a flag is suggested", async () => {
    const r = await run(["approve", "x", "--dryrun"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain("did you mean --dry-run?");
  });
  it("a flag without its value says so", async () => {
    const r = await run(["status", "-o"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err.split("\n")[0]).toBe("kubectl-esim: flag -o needs a value (kubectl esim status)");
  });
  it("a misspelled command is suggested", async () => {
    const r = await run(["stauts"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain('unknown command "stauts"; did you mean "status"?');
  });
  it("a missing argument shows the command's usage", async () => {
    const r = await run(["ack"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toBe(
      "kubectl-esim: ORDER is required\n\nUsage:\n  kubectl esim ack ORDER [--yes] [--dry-run] [-n NAMESPACE]\nRun 'kubectl esim ack --help' for usage.\n",
    );
  });
});

describe("version and completion", () => {
  it("version and --version print the package version", async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "../../package.json"), "utf8"));
    expect(version()).toBe(pkg.version);
    expect((await run(["version"])).out).toBe(`kubectl-esim ${pkg.version}\n`);
    expect((await run(["--version"])).out).toBe(`kubectl-esim ${pkg.version}\n`);
  });
  it("bash completion completes commands and each command's flags", async () => {
    const script = (await run(["completion", "bash"])).out;
    const complete = (...words: string[]) =>
      execFileSync(
        "bash",
        [
          "-c",
          `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _kubectl_esim; echo "\${COMPREPLY[*]}"`,
        ],
        { encoding: "utf8" },
      ).trim();
    expect(complete("kubectl-esim", "re")).toBe("resume refresh");
    expect(complete("kubectl-esim", "status", "--w")).toBe("--watch");
    expect(complete("kubectl-esim", "-n", "x", "qr", "--p")).toBe("--png --pdf");
  });
  it("zsh and fish scripts name every command", async () => {
    for (const shell of ["zsh", "fish"]) {
      const out = (await run(["completion", shell])).out;
      for (const c of ["export", "qr", "approve", "ack", "resume", "refresh", "status", "completion", "version"]) {
        expect(out).toContain(c);
      }
    }
  });
  it("completion without a known shell is a usage error naming the shells", async () => {
    const r = await run(["completion", "tcsh"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain("completion needs one shell: bash, zsh, fish");
  });
});

function failedOrder(): EsimProfileOrder {
  return anOrder("sensors", "fleet-a", {
    status: {
      orders: [
        { sequence: 1, token: "t1", profileOrderId: "PO-1", quantity: 2, status: "COMPLETED" },
        {
          sequence: 2,
          token: "t2",
          profileOrderId: "PO-2",
          quantity: 3,
          status: "FAILED",
          statusSince: "2026-06-04T10:00:00Z",
        },
        { sequence: 3, token: "t3", profileOrderId: "PO-3", quantity: 1, status: "FAILED" },
      ],
    },
  });
}

describe("ack ORDER", () => {
  it("adds exactly the unacknowledged FAILED ids to the acknowledge-failed annotation", async () => {
    const c = new FakeCluster();
    const order = failedOrder();
    order.metadata.annotations = { [ANNOTATIONS.acknowledgeFailed]: "PO-3" };
    c.orders.push(order);
    const r = await run(["ack", "sensors", "--yes"], c);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain("PO-2  3 profiles, FAILED since 2026-06-04T10:00:00Z");
    expect(c.patches).toEqual([
      {
        kind: "EsimProfileOrder",
        name: "sensors",
        annotations: { [ANNOTATIONS.acknowledgeFailed]: "PO-3,PO-2" },
        resourceVersion: "1",
      },
    ]);
  });
  it("refuses without --yes off a terminal, and asks on one", async () => {
    const c = new FakeCluster();
    c.orders.push(failedOrder());
    expect((await run(["ack", "sensors"], c)).code).toBe(EXIT.usage);
    const no = await run(["ack", "sensors"], c, new RecordingIo(true, ["n"]));
    expect(no.code).toBe(EXIT.error);
    expect(c.patches).toEqual([]);
  });
  it("an order with nothing FAILED changes nothing", async () => {
    const c = fleet();
    const r = await run(["ack", "sensors", "--yes"], c);
    expect(r).toMatchObject({ code: EXIT.ok });
    expect(r.out).toContain("Nothing to acknowledge");
    expect(c.patches).toEqual([]);
  });
});

function pausedAccount(): SoracomAccount {
  return {
    metadata: { name: "logistics", resourceVersion: "7" },
    spec: {} as SoracomAccount["spec"],
    status: {
      budgets: { termination: { limit: 5, window: "24h", pausedSince: "2026-06-04T11:00:00Z", pauseId: "p-42" } },
    },
  };
}

describe("resume ACCOUNT", () => {
  it("sets resume-terminations to the current pause id on the SoracomAccount", async () => {
    const c = new FakeCluster();
    c.accounts.push(pausedAccount());
    const r = await run(["resume", "logistics", "--yes"], c);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain("paused since 2026-06-04T11:00:00Z (pause p-42). Another 5 may go (per 24h)");
    expect(c.patches).toEqual([
      {
        kind: "SoracomAccount",
        name: "logistics",
        annotations: { [ANNOTATIONS.resumeTerminations]: "p-42" },
        resourceVersion: "7",
      },
    ]);
  });
  it("an account that is not paused, or a dry run, changes nothing", async () => {
    const c = new FakeCluster();
    const a = pausedAccount();
    c.accounts.push({ ...a, metadata: { name: "quiet" }, status: {} }, a);
    expect((await run(["resume", "quiet", "--yes"], c)).out).toContain("Nothing to resume");
    expect((await run(["resume", "logistics", "--dry-run"], c)).out).toContain("Dry run: nothing changed.");
    expect(c.patches).toEqual([]);
  });
  it("off a terminal without --yes it refuses (exit 2); an unknown account is exit 4", async () => {
    const c = new FakeCluster();
    c.accounts.push(pausedAccount());
    expect((await run(["resume", "logistics"], c)).code).toBe(EXIT.usage);
    const missing = await run(["resume", "nope", "--yes"], c);
    expect(missing.code).toBe(EXIT.notFound);
    expect(missing.err).toContain("kubectl get soracomaccounts");
    expect(c.patches).toEqual([]);
  });
});

describe("refresh ORDER|PROFILE", () => {
  it("sets requested-at to now on the order", async () => {
    const c = fleet();
    const r = await run(["refresh", "sensors"], c);
    expect(r.code).toBe(EXIT.ok);
    expect(c.patches).toEqual([
      {
        kind: "EsimProfileOrder",
        name: "sensors",
        annotations: { [ANNOTATIONS.requestedAt]: "2026-06-04T12:00:00.000Z" },
        resourceVersion: "1",
      },
    ]);
  });
  it("a profile's refresh asks its order's polls, and says so", async () => {
    const c = fleet();
    const r = await run(["refresh", "sensors-8981100000000000001"], c);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain("EsimProfile sensors-8981100000000000001 is read by the polls of its order sensors");
    expect(c.patches.map((p) => [p.kind, p.name])).toEqual([["EsimProfileOrder", "sensors"]]);
  });
  it("an adopted profile has no order's polls to ask for: a usage error, nothing written", async () => {
    const c = fleet();
    const adopted = aProfile("fleet-a", "sensors", "8981100000000000777");
    adopted.metadata.labels = {};
    c.profiles.push(adopted);
    const r = await run(["refresh", adopted.metadata.name ?? ""], c);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain("belongs to no order (adopted)");
    expect(c.patches).toEqual([]);
  });
  it("a misspelled name is not found, with the close names", async () => {
    const r = await run(["refresh", "sensor"]);
    expect(r.code).toBe(EXIT.notFound);
    expect(r.err).toContain("did you mean EsimProfileOrder sensors?");
  });
});

describe("status -w", () => {
  it("prints each change as it happens, the time In Progress, and the 24h stuck threshold, then ends at rest", async () => {
    const c = new FakeCluster();
    const order = anOrder("sensors", "fleet-a", {
      status: {
        phase: "In Progress",
        orders: [
          {
            sequence: 1,
            token: "t",
            profileOrderId: "PO-1",
            quantity: 2,
            status: "IN_PROGRESS",
            statusSince: "2026-06-04T11:00:00Z",
          },
        ],
      },
    });
    c.orders.push(order);
    const io = new RecordingIo();
    let slept = 0;
    io.onSleep = (ms) => {
      slept++;
      expect(ms).toBe(60_000);
      const stored = c.orders[0] as EsimProfileOrder;
      if (slept === 1) return; // nothing changed: nothing printed
      if (slept === 2) stored.status!.orders![0]!.statusSince = "2026-06-03T11:00:00Z"; // now 25h ago
      if (slept === 3)
        stored.status = { phase: "Completed", orders: [{ ...stored.status!.orders![0]!, status: "COMPLETED" }] };
    };
    const code = await main(["status", "sensors", "-w", "--interval", "1m"], io, connectTo(c));
    expect(code).toBe(EXIT.ok);
    expect(io.out).toBe(
      "2026-06-04T12:00:00Z  fleet-a/sensors  In Progress; Soracom order PO-1 In Progress for 1h 0m (stuck after 24h)\n" +
        "2026-06-04T12:02:00Z  fleet-a/sensors  In Progress; Soracom order PO-1 In Progress for 1d 1h: STUCK, past the vendor's 24h; contact Soracom support\n" +
        "2026-06-04T12:03:00Z  fleet-a/sensors  Completed (was In Progress)\n",
    );
  });
  it("-w with -o, or --interval without -w, is a usage error", async () => {
    const withOutput = await run(["status", "-w", "-o", "json"]);
    expect(withOutput.code).toBe(EXIT.usage);
    expect(withOutput.err).toContain("-w prints lines as orders change; it takes no -o");
    expect((await run(["status", "--interval", "5s"])).err).toContain("--interval goes with -w");
    expect((await run(["status", "-w", "--interval", "0s"])).err).toContain("--interval must be a duration");
  });
});

describe("qr ORDER", () => {
  it("--pdf writes every profile's QR code, labelled with its name and ICCID, as pages of 12", async () => {
    const c = fleet(13);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qr-sheet-"));
    const file = path.join(dir, "sheet.pdf");
    const r = await run(["qr", "sensors", "--pdf", file], c);
    expect(r).toMatchObject({ code: EXIT.ok, out: "" });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const pdf = fs.readFileSync(file).toString("latin1");
    // Every xref entry points at its object: a reader opens the file.
    const xref = Number(/startxref\n(\d+)/.exec(pdf)?.[1]);
    const offsets = pdf
      .slice(xref)
      .split("\n")
      .filter((l) => / 00000 n $/.test(l))
      .map((l) => Number(l.slice(0, 10)));
    expect(offsets.map((o) => pdf.slice(o, pdf.indexOf(" obj", o)))).toEqual(offsets.map((_, i) => `${i + 1} 0`));
    expect(pdf).toContain("/Count 2");
    expect(decodePdfQrs(pdf)).toEqual(Array.from({ length: 13 }, (_, i) => `LPA:1$smdp.example$MATCHING-${i + 1}`));
    for (let i = 1; i <= 13; i++) {
      const iccid = `898110000000000${String(i).padStart(4, "0")}`;
      expect(pdf).toContain(`(sensors-${iccid}) Tj`);
      expect(pdf).toContain(`(ICCID ${iccid}) Tj`);
    }
    fs.rmSync(dir, { recursive: true });
  });
  it("an order without --pdf names the way, and a profile to show instead", async () => {
    const r = await run(["qr", "sensors"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain(
      '"sensors" is an EsimProfileOrder (2 profiles): write all their QR codes on one printable sheet with --pdf FILE, or one profile: kubectl esim qr sensors-8981100000000000001',
    );
  });
  it("a misspelled profile or order suggests the close names", async () => {
    const r = await run(["qr", "sensors-898110000000000001"]);
    expect(r.code).toBe(EXIT.notFound);
    expect(r.err).toContain("did you mean EsimProfile sensors-8981100000000000001");
  });
  it("profiles without activation data are named, the rest printed, exit 3", async () => {
    const c = fleet(2);
    c.secrets.pop();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qr-sheet-"));
    const r = await run(["qr", "sensors", "--pdf", path.join(dir, "s.pdf")], c);
    expect(r.code).toBe(EXIT.partial);
    expect(r.err).toContain("1 of 2 profiles are not on the sheet:\n  sensors-8981100000000000002: activation Secret");
    fs.rmSync(dir, { recursive: true });
  });
});
