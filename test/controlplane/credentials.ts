import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** Identity is a bearer-token user of the test apiserver. */
export interface Identity {
  name: string;
  token: string;
  groups: string[];
}

/** Credentials are what the apiserver is started with and what clients log in with. */
export interface Credentials {
  /** In group system:masters: allowed everything, like envtest's admin user. */
  admin: Identity;
  /** An ordinary authenticated user with no RBAC bindings, for permission tests. */
  user: Identity;
  tokenFile: string;
  saPublicKeyFile: string;
  saSigningKeyFile: string;
}

/**
 * writeCredentials generates fresh random tokens and a service-account signing key pair into dir.
 * Files are 0600: the tokens grant full control of this (throwaway) apiserver.
 */
export function writeCredentials(dir: string): Credentials {
  const admin: Identity = { name: "admin", token: randomToken(), groups: ["system:masters"] };
  const user: Identity = { name: "esim-tester", token: randomToken(), groups: ["esim-testers"] };
  const tokenFile = path.join(dir, "tokens.csv");
  // Format: token,user,uid,"group1,group2"
  const csv = [admin, user].map((i) => `${i.token},${i.name},${i.name},"${i.groups.join(",")}"`).join("\n");
  fs.writeFileSync(tokenFile, `${csv}\n`, { mode: 0o600 });

  const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const saPublicKeyFile = path.join(dir, "sa.pub");
  const saSigningKeyFile = path.join(dir, "sa.key");
  fs.writeFileSync(saPublicKeyFile, publicKey, { mode: 0o600 });
  fs.writeFileSync(saSigningKeyFile, privateKey, { mode: 0o600 });
  return { admin, user, tokenFile, saPublicKeyFile, saSigningKeyFile };
}

function randomToken(): string {
  return crypto.randomBytes(24).toString("base64url");
}

/**
 * kubeconfigFor renders a kubeconfig (JSON is valid YAML) that trusts the apiserver's own
 * self-signed serving certificate instead of skipping verification.
 */
export function kubeconfigFor(server: string, caPem: string, who: Identity, namespace = "default"): string {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "envtest", cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } },
    ],
    users: [{ name: who.name, user: { token: who.token } }],
    contexts: [{ name: `${who.name}@envtest`, context: { cluster: "envtest", user: who.name, namespace } }],
    "current-context": `${who.name}@envtest`,
    preferences: {},
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
