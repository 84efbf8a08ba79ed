/**
 * Idempotency tokens. Every Soracom order the controller creates carries, at the start of its
 * description, a token made of the EsimProfileOrder's UID and a per-resource sequence number. The token
 * is written to status before the create call, so after a crash or a lost response the order can be
 * found again by listing Soracom's orders, instead of being ordered twice.
 */

export const TOKEN_PREFIX = "soracom-esim-operator";
/** Soracom keeps at most this many characters of a description. */
export const DESCRIPTION_MAX = 100;

/** orderToken is the token of the sequence-th order of the resource with this UID. */
export function orderToken(uid: string, sequence: number): string {
  return `${TOKEN_PREFIX}:${uid}:${sequence}`;
}

/** orderDescription is the description sent to Soracom: the token, then where it comes from (cut to 100 chars). */
export function orderDescription(token: string, namespace: string, name: string): string {
  return `${token} ${namespace}/${name}`.slice(0, DESCRIPTION_MAX);
}

/** descriptionHasToken is true when a Soracom order's description carries exactly this token. */
export function descriptionHasToken(description: string | undefined, token: string): boolean {
  if (!description) return false;
  return description === token || description.startsWith(`${token} `);
}

/** parseToken reads the UID and sequence of a description written by this operator, or undefined. */
export function parseToken(description: string | undefined): { uid: string; sequence: number } | undefined {
  const m = /^soracom-esim-operator:([0-9a-f-]{36}):(\d+)(?:\s|$)/.exec(description ?? "");
  return m ? { uid: m[1]!, sequence: Number(m[2]) } : undefined;
}
