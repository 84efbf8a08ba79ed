import fs from "node:fs";
import QRCode from "qrcode";
import { qrPng } from "../controller/api/qrpng.js";
import { readActivation } from "./activation.js";
import { type Command, exactlyOne, oneNamespace, stringValue } from "./command.js";
import type { EsimProfile } from "../controller/api/types.js";
import { LABELS } from "../controller/api/vocabulary.js";
import type { Cluster } from "./cluster.js";
import { EXIT, ForbiddenError, NotFoundError, PluginError, UsageError } from "./errors.js";
import type { PluginIo } from "./io.js";
import { type SheetItem, sheetPdf } from "./sheet.js";
import { suggestName } from "./suggest.js";

/** NoActivationError: the profile exists but its activation data is not (yet) available. */
export class NoActivationError extends PluginError {
  override readonly code = "ESIM_NO_ACTIVATION";
}

/** qrTerminal renders the activation code with half-block characters (two modules per line). */
export function qrTerminal(activationCode: string): Promise<string> {
  return QRCode.toString(activationCode, { type: "terminal", small: true, errorCorrectionLevel: "M" });
}

/**
 * findProfile reads the named profile; undefined when NAME is an order instead; NotFoundError with the
 * close names of the namespace ("did you mean") when it is neither.
 */
async function findProfile(cluster: Cluster, namespace: string, name: string): Promise<EsimProfile | undefined> {
  try {
    return await cluster.getProfile(namespace, name);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  try {
    await cluster.getOrder(namespace, name);
    return undefined;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  const hint = await suggestName(cluster, namespace, name);
  throw new NotFoundError(`no EsimProfile or EsimProfileOrder "${name}" in namespace "${namespace}"${hint}`);
}

/** orderSheet writes every profile of an order as one PDF sheet; profiles without activation data are named. */
async function orderSheet(cluster: Cluster, io: PluginIo, namespace: string, order: string, pdf: string | undefined) {
  const profiles = (await cluster.listProfiles(namespace, `${LABELS.order}=${order}`)).sort((a, b) =>
    (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
  const names = profiles.map((p) => p.metadata.name ?? "");
  if (pdf === undefined) {
    const some = names.length === 0 ? "" : `, or one profile: kubectl esim qr ${names[0]}`;
    throw new UsageError(
      `"${order}" is an EsimProfileOrder (${names.length} profiles): write all their QR codes on one printable sheet with --pdf FILE${some}`,
    );
  }
  const items: SheetItem[] = [];
  const problems: string[] = [];
  for (const p of profiles) {
    const read = await readActivation(cluster, p);
    const code = read.ok ? read.activation.activationCode : undefined;
    if (!code) {
      problems.push(`  ${p.metadata.name}: ${read.ok ? "no activationCode in its Secret" : read.problem}`);
      continue;
    }
    const iccid = p.status?.iccid ?? p.spec.iccid ?? "unknown";
    items.push({ code, labels: [p.metadata.name ?? "", `ICCID ${iccid}`] });
  }
  if (items.length === 0) {
    throw new NoActivationError(`no QR code to print for EsimProfileOrder "${order}": ${problems.join(";").trim()}`);
  }
  fs.writeFileSync(pdf, sheetPdf(`EsimProfileOrder ${namespace}/${order}: ${items.length} eSIM profiles`, items), {
    mode: 0o600,
  });
  io.stderr(`Saved the QR codes of ${items.length} profiles of ${namespace}/${order} to ${pdf}
`);
  if (problems.length === 0) return EXIT.ok;
  io.stderr(`kubectl-esim: ${problems.length} of ${profiles.length} profiles are not on the sheet:\n${problems.join("\n")}\n`);
  return EXIT.partial;
}

export const qrCommand: Command = {
  name: "qr",
  summary: "Show a profile's QR code, or print every QR code of an order on one sheet",
  options: { png: { type: "string" }, pdf: { type: "string" }, "show-code": { type: "boolean" } },
  help: `Show the QR code an LPA scans to install an eSIM profile, or all of an order's on one sheet.

Usage:
  kubectl esim qr PROFILE [--png FILE] [--show-code] [-n NAMESPACE]
  kubectl esim qr ORDER --pdf FILE [-n NAMESPACE]

PROFILE is an EsimProfile name (order-created profiles are named <order>-<iccid>).
ORDER is an EsimProfileOrder: --pdf writes every profile's QR code, labelled with the profile name
and ICCID, as A4 pages of 12 (file mode 0600), for installing a batch of devices.
The QR code encodes the profile's activation code (LPA:1$<SM-DP+ address>$<Matching ID>), read
from its activation Secret, so you need permission to get that Secret.

  --png FILE     Save the QR code as a PNG (file mode 0600) instead of drawing it in the terminal.
  --pdf FILE     ORDER: save the sheet of every profile's QR code as a PDF (file mode 0600).
  --show-code    Also print the activation code on stdout. It is a secret: anyone holding it can
                 install the profile, so it is shown only on request.

Exit codes: 0 ok, 1 error (no permission, no activation Secret yet), 2 usage, 3 partial (some of an
order's profiles are not on the sheet; they are named), 4 not found.
`,
  async run(ctx) {
    const name = exactlyOne(ctx.positionals, "PROFILE");
    const png = stringValue(ctx.values, "png");
    const pdf = stringValue(ctx.values, "pdf");
    const session = await ctx.connect();
    const namespace = oneNamespace(session, name);
    const profile = await findProfile(session.cluster, namespace, name);
    if (!profile) return orderSheet(session.cluster, ctx.io, namespace, name, pdf);
    if (pdf !== undefined) throw new UsageError(`--pdf is for an order's sheet; "${name}" is one EsimProfile: use --png FILE`);
    const read = await readActivation(session.cluster, profile);
    if (!read.ok) {
      const message = `cannot show the QR code of EsimProfile "${name}": ${read.problem}`;
      if (read.code === "Forbidden") throw new ForbiddenError(message, "get", "secrets", namespace);
      if (read.code === "SecretNotFound") throw new NotFoundError(message);
      throw new NoActivationError(message);
    }
    const code = read.activation.activationCode;
    if (!code) throw new NoActivationError(`the activation Secret of EsimProfile "${name}" has no activationCode`);
    const iccid = profile.status?.iccid ?? profile.spec.iccid ?? "unknown ICCID";
    if (png !== undefined) {
      fs.writeFileSync(png, qrPng(code), { mode: 0o600 });
      ctx.io.stderr(`Saved the QR code of ${namespace}/${name} (ICCID ${iccid}) to ${png}\n`);
    } else {
      ctx.io.stderr(`QR code of ${namespace}/${name} (ICCID ${iccid}): scan it with the device's LPA\n`);
      ctx.io.stdout(await qrTerminal(code));
    }
    if (ctx.values["show-code"] === true) ctx.io.stdout(`${code}\n`);
    return EXIT.ok;
  },
};
