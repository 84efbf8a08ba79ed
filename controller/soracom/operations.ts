/**
 * How the client may repeat each operation after a failure. Every Soracom operation the client sends
 * is classified once, in OPERATIONS below, with the reason beside it; nothing else decides retries.
 *
 * - "read":   GET, changes nothing. Retried on 429, 5xx, timeouts and connection resets.
 * - "set":    sets a state (enable/disable termination, status, speed class, tags, group). Sending it
 *             twice leaves the same state as sending it once, so it is retried like a read.
 * - "delete": DELETE. Retried like a read; a 404 after an attempt that may have been applied means
 *             the earlier attempt did it, and counts as done.
 * - "never":  the client never repeats it. A lost outcome (timeout, reset, dropped response, 5xx) is a
 *             SoracomOutcomeUnknownError: the caller must look before it does anything else. A 429 and
 *             other 4xx are definite "not applied" answers and come back as API errors, not repeated.
 * - "login":  POST /auth. Another login only issues another token, so it is retried like a read.
 * - "once":   best effort, not repeated (logout: the token is dropped locally either way).
 */
export type RetryClass = "read" | "set" | "delete" | "never" | "login" | "once";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

export interface OperationSpec {
  method: HttpMethod;
  /** Path under /v1 with `{name}` placeholders, exactly as in the vendor's spec. */
  path: string;
  retry: RetryClass;
}

/** OPERATIONS: the one table of every operation (the spec's operationIds) and its retry class. */
export const OPERATIONS = {
  // Logging in twice just issues two tokens.
  auth: { method: "POST", path: "/auth", retry: "login" },
  // Revokes the token we are about to forget anyway; a lost answer changes nothing for us.
  logout: { method: "POST", path: "/auth/logout", retry: "once" },
  // MONEY: a repeat can order twice. Never repeated; a lost outcome means "look for the order first".
  createProfileOrder: { method: "POST", path: "/sim_profile_orders", retry: "never" },
  // MONEY: confirming charges the initial fee. The caller must get the order (still DRAFT?) before repeating.
  confirmProfileOrder: { method: "POST", path: "/sim_profile_orders/{profile_order_id}/confirm", retry: "never" },
  // Read.
  getProfileOrder: { method: "GET", path: "/sim_profile_orders/{profile_order_id}", retry: "read" },
  // Cancelling a DRAFT twice is harmless; a 404 after a lost answer means the first one worked.
  deleteProfileOrder: { method: "DELETE", path: "/sim_profile_orders/{profile_order_id}", retry: "delete" },
  // Read (paginated).
  listProfileOrders: { method: "GET", path: "/sim_profile_orders", retry: "read" },
  // Read (not paginated).
  listOrderedProfiles: { method: "GET", path: "/sim_profile_orders/{profile_order_id}/profiles", retry: "read" },
  // Read: IMSI to SIM ID.
  getSubscriber: { method: "GET", path: "/subscribers/{imsi}", retry: "read" },
  // Read (paginated; partial, case-insensitive match).
  searchSims: { method: "GET", path: "/query/sims", retry: "read" },
  // Read.
  getSim: { method: "GET", path: "/sims/{sim_id}", retry: "read" },
  // Sets terminationEnabled=true; the same state however often it is sent.
  enableSimTermination: { method: "POST", path: "/sims/{sim_id}/enable_termination", retry: "set" },
  // Sets terminationEnabled=false.
  disableSimTermination: { method: "POST", path: "/sims/{sim_id}/disable_termination", retry: "set" },
  // Irreversible: not repeated blindly. A lost outcome makes the caller get the SIM and look at its status.
  terminateSim: { method: "POST", path: "/sims/{sim_id}/terminate", retry: "never" },
  // Sets status=active.
  activateSim: { method: "POST", path: "/sims/{sim_id}/activate", retry: "set" },
  // Sets status=inactive.
  deactivateSim: { method: "POST", path: "/sims/{sim_id}/deactivate", retry: "set" },
  // Sets status=suspended.
  suspendSim: { method: "POST", path: "/sims/{sim_id}/suspend", retry: "set" },
  // Sets status=standby.
  setSimToStandby: { method: "POST", path: "/sims/{sim_id}/set_to_standby", retry: "set" },
  // Sets speedClass to the given value.
  updateSimSpeedClass: { method: "POST", path: "/sims/{sim_id}/update_speed_class", retry: "set" },
  // PUT of tag values: the same values however often it is sent.
  putSimTags: { method: "PUT", path: "/sims/{sim_id}/tags", retry: "set" },
  // Deleting a tag twice is harmless; a 404 after a lost answer means the first one worked.
  deleteSimTag: { method: "DELETE", path: "/sims/{sim_id}/tags/{tag_name}", retry: "delete" },
  // Sets groupId to the given value.
  setSimGroup: { method: "POST", path: "/sims/{sim_id}/set_group", retry: "set" },
  // Sets groupId to none.
  unsetSimGroup: { method: "POST", path: "/sims/{sim_id}/unset_group", retry: "set" },
} as const satisfies Record<string, OperationSpec>;

export type OperationId = keyof typeof OPERATIONS;

/** canRetry says whether a failed attempt of this class may be sent again by the client itself. */
export function canRetry(retry: RetryClass): boolean {
  return retry === "read" || retry === "set" || retry === "delete" || retry === "login";
}

/** expandPath fills `{name}` placeholders, percent-encoding each value (a tag name may hold "/"). */
export function expandPath(template: string, params: Record<string, string> = {}): string {
  return template.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || value === "") throw new TypeError(`missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
}
