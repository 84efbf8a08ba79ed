import fs from "node:fs";
import QRCode from "qrcode";
import { qrPng } from "../controller/api/qrpng.js";
import { readActivation } from "./activation.js";
import { type Command, exactlyOne, oneNamespace, stringValue } from "./command.js";
import { EXIT, ForbiddenError, NotFoundError, PluginError } from "./errors.js";

/** NoActivationError: the profile exists but its activation data is not (yet) available. */
export class NoActivationError extends PluginError {
  override readonly code = "ESIM_NO_ACTIVATION";
}

/** qrTerminal renders the activation code with half-block characters (two modules per line). */
export function qrTerminal(activationCode: string): Promise<string> {
  return QRCode.toString(activationCode, { type: "terminal", small: true, errorCorrectionLevel: "M" });
}

export const qrCommand: Command = {
  name: "qr",
  summary: "Show a profile's QR code in the terminal, or save it as a PNG",
  options: { png: { type: "string" }, "show-code": { type: "boolean" } },
  help: `Show the QR code an LPA scans to install an eSIM profile.

Usage:
  kubectl esim qr PROFILE [--png FILE] [--show-code] [-n NAMESPACE]

PROFILE is an EsimProfile name (order-created profiles are named <order>-<iccid>).
The QR code encodes the profile's activation code (LPA:1$<SM-DP+ address>$<Matching ID>), read
from its activation Secret, so you need permission to get that Secret.

  --png FILE     Save the QR code as a PNG (file mode 0600) instead of drawing it in the terminal.
  --show-code    Also print the activation code on stdout. It is a secret: anyone holding it can
                 install the profile, so it is shown only on request.

Exit codes: 0 ok, 1 error (no permission, no activation Secret yet), 2 usage, 4 profile not found.
`,
  async run(ctx) {
    const name = exactlyOne(ctx.positionals, "PROFILE");
    const png = stringValue(ctx.values, "png");
    const session = await ctx.connect();
    const namespace = oneNamespace(session, name);
    const profile = await session.cluster.getProfile(namespace, name);
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
