import type { Logger } from "pino";
import { Agent, type Dispatcher } from "undici";
import { silentLogger } from "../log.js";
import { TOKEN_TIMEOUT, TokenSource } from "./auth.js";
import {
  type CallContext,
  type CallResult,
  type ClientBounds,
  call,
  DEFAULT_BOUNDS,
  type QueryValue,
  type RequestEvent,
} from "./call.js";
import { type Coverage, resolveEndpoint } from "./endpoint.js";
import {
  isNotFound,
  SoracomError,
  SoracomErrorCode,
  type SoracomErrorCodeValue,
  SoracomInvalidResponseError,
  SoracomOutcomeUnknownError,
} from "./errors.js";
import { expectOrder, expectProfilesOf, expectSim, expectSubscriber, simCarries } from "./identity.js";
import { RequestLimiter } from "./limiter.js";
import { OPERATIONS, type OperationId } from "./operations.js";
import { paginate } from "./pagination.js";
import { DEFAULT_RETRY, type RetryOptions } from "./retry.js";
import type {
  AuthResponse,
  CreateProfileOrderRequest,
  ExactSimKey,
  OrderedProfile,
  ProfileOrder,
  SearchSimsQuery,
  Sim,
  SimSpeedClass,
  SoracomCredentials,
  Subscriber,
  TagUpdate,
} from "./types.js";
import { createAnswerMatches, terminatedAnswer, validAnswer } from "./validate.js";

/** SoracomClientOptions configure one client; everything but credentials has a safe default. */
export interface SoracomClientOptions {
  credentials: SoracomCredentials;
  /** Explicit host (wins over SORACOM_ENDPOINT and coverage), e.g. a simulator's URL. */
  endpoint?: string;
  coverage?: Coverage;
  sandbox?: boolean;
  /** Where SORACOM_ENDPOINT is read from; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Deadline of one attempt, headers and body (default 30 s). */
  requestTimeoutMs?: number;
  /** Requests in flight at once (default 4). */
  maxConcurrency?: number;
  /** Steady request rate (default 5 per second), burst of the same size. */
  requestsPerSecond?: number;
  retry?: Partial<RetryOptions>;
  /** Token lifetime asked for at login (180..172800, default 86400). */
  tokenTimeoutSeconds?: number;
  logger?: Logger;
  /** Called once per attempt, for metrics; errors thrown by it are logged and ignored. */
  onRequest?: (event: RequestEvent) => void;
  /** A dispatcher to use instead of the client's own Agent (a proxy, or a test recorder); not closed by close(). */
  dispatcher?: Dispatcher;
  /** Randomness for backoff jitter (tests pin it). */
  random?: () => number;
  /** The clock that decides when the token is renewed (Unix ms; tests and fake clocks pass one). */
  clock?: () => number;
  /**
   * Why mutations may not be sent now (this replica lost its lease), or undefined. Asked right before
   * every attempt of every mutating call; a fenced call fails with SoracomFencedError, never sent.
   */
  fence?: () => string | undefined;
  /** The User-Agent sent (default "soracom-esim-operator"); the controller adds its replica's identity. */
  userAgent?: string;
  /** Longest pause a rate-limit header may impose (default 15 min); longer hints are cut and reported. */
  maxServerWaitMs?: number;
  /** Pages one list may have (default 1000). */
  maxPages?: number;
  /** Bytes one answer may have (default 4 MiB). */
  maxResponseBytes?: number;
  /** One call's total time from its first send, retries included (default twice requestTimeoutMs). */
  callDeadlineMs?: number;
  /**
   * Called when a bound is reached or an answer refused, with the error code (SORACOM_ERR_INVALID_RESPONSE,
   * _MISMATCH, _TOO_MANY_PAGES, _RESPONSE_TOO_LARGE, _WAIT_CAPPED, _DEADLINE): for a metric.
   */
  onGuard?: (event: GuardEvent) => void;
}

/** GuardEvent: the client refused an answer or hit one of its bounds. */
export interface GuardEvent {
  operation: OperationId;
  code: SoracomErrorCodeValue;
}

/** MutationOptions bound one mutating call. */
export interface MutationOptions {
  /** Not sent after this time (Unix ms): the call fails with SoracomFencedError instead. */
  sendBy?: number;
}

/** SoracomClient is the operator's whole view of the Soracom API. */
export interface SoracomClient {
  /** The resolved base URL (ending in /v1). */
  readonly baseUrl: string;
  /** NEVER retried: a lost outcome is a SoracomOutcomeUnknownError; look for the order before ordering again. */
  createProfileOrder(req: CreateProfileOrderRequest, opts?: MutationOptions): Promise<ProfileOrder>;
  /** Not retried (charges the initial fee): a lost outcome is a SoracomOutcomeUnknownError; get the order first. */
  confirmProfileOrder(profileOrderId: string): Promise<ProfileOrder>;
  getProfileOrder(profileOrderId: string): Promise<ProfileOrder>;
  /** Cancels a DRAFT order. A 404 after a lost answer counts as done. */
  deleteProfileOrder(profileOrderId: string): Promise<void>;
  /** Every order, page after page. */
  listProfileOrders(opts?: { limit?: number }): AsyncIterable<ProfileOrder>;
  listOrderedProfiles(profileOrderId: string): Promise<OrderedProfile[]>;
  getSubscriber(imsi: string): Promise<Subscriber>;
  /** Partial, case-insensitive search, page after page. */
  searchSims(query: SearchSimsQuery): AsyncIterable<Sim>;
  /** The one SIM whose ICCID, IMSI or SIM ID equals the key exactly; undefined if none. */
  findSimExact(key: ExactSimKey): Promise<Sim | undefined>;
  /** The SIM ID of an ordered profile, via GET /subscribers/{imsi}; undefined while not registered. */
  resolveSimId(profile: { imsi: string }): Promise<string | undefined>;
  getSim(simId: string): Promise<Sim>;
  enableSimTermination(simId: string): Promise<Sim>;
  disableSimTermination(simId: string): Promise<Sim>;
  /** Not retried (irreversible): a lost outcome is a SoracomOutcomeUnknownError; get the SIM first. */
  terminateSim(simId: string): Promise<Sim>;
  activateSim(simId: string): Promise<Sim>;
  deactivateSim(simId: string): Promise<Sim>;
  suspendSim(simId: string): Promise<Sim>;
  setSimToStandby(simId: string): Promise<Sim>;
  updateSimSpeedClass(simId: string, speedClass: SimSpeedClass): Promise<Sim>;
  putSimTags(simId: string, tags: TagUpdate[]): Promise<Sim>;
  /** A 404 after a lost answer counts as done. */
  deleteSimTag(simId: string, tagName: string): Promise<void>;
  setSimGroup(simId: string, groupId: string): Promise<Sim>;
  unsetSimGroup(simId: string): Promise<Sim>;
  /** Logs in if needed (no other call) and says which Soracom operator the credentials belong to. */
  whoami(): Promise<{ operatorId: string }>;
  /** Revokes the current API key and token (POST /auth/logout); the next call logs in again. */
  logout(): Promise<void>;
  /** Closes the client's own connections; later calls fail with SORACOM_ERR_CLOSED. */
  close(): Promise<void>;
  /**
   * The lowest per-minute limit Soracom last announced (X-Soracom-Ratelimit-Limit) on these operations'
   * paths (default: every path but logging in and out); undefined before any answer carried one.
   * Optional: test fakes need not know it.
   */
  announcedLimit?(operations?: readonly OperationId[]): number | undefined;
}

const SEARCH_PARAMS: Record<keyof SearchSimsQuery, string> = {
  name: "name",
  group: "group",
  groupId: "group_id",
  simId: "sim_id",
  imsi: "imsi",
  msisdn: "msisdn",
  iccid: "iccid",
  serialNumber: "serial_number",
  tag: "tag",
  bundles: "bundles",
  status: "status",
  sessionStatus: "session_status",
  subscription: "subscription",
  moduleType: "module_type",
  searchType: "search_type",
  limit: "limit",
};

/** createSoracomClient builds a client; it logs in lazily, on the first call. */
export function createSoracomClient(opts: SoracomClientOptions): SoracomClient {
  const ctx = buildContext(opts);
  let closed = false;
  ctx.closed = () => closed;
  const ownDispatcher = opts.dispatcher ? undefined : ctx.dispatcher;
  const baseUrl = `${ctx.origin}${ctx.basePath}`;

  const run = (op: OperationId, args: Parameters<typeof call>[2] = {}): Promise<CallResult> => call(ctx, op, args);
  // Every answer is checked (validate.ts) before use, then against what was asked (identity.ts).
  const data = async <T>(op: OperationId, args: Parameters<typeof call>[2] = {}, expect?: (v: T) => T): Promise<T> =>
    answered(ctx, op, await run(op, args), expect);
  const simOp = (op: OperationId) => (simId: string) =>
    data<Sim>(op, { pathParams: { sim_id: simId } }, (sim) => expectSim(op, simId, sim));
  const simWith = (op: OperationId, simId: string, body: unknown) =>
    data<Sim>(op, { pathParams: { sim_id: simId }, body }, (sim) => expectSim(op, simId, sim));
  const order = (profileOrderId: string) => ({ pathParams: { profile_order_id: profileOrderId } });
  const orderOp = (op: OperationId, id: string) => data<ProfileOrder>(op, order(id), (o) => expectOrder(op, id, o));

  const client: SoracomClient = {
    baseUrl,
    createProfileOrder: (req, mutation = {}) =>
      data<ProfileOrder>(
        "createProfileOrder",
        { body: req, ...(mutation.sendBy !== undefined ? { sendBy: mutation.sendBy } : {}) },
        (o) => createAnswerMatches(req, o),
      ),
    confirmProfileOrder: (id) => orderOp("confirmProfileOrder", id),
    getProfileOrder: (id) => orderOp("getProfileOrder", id),
    deleteProfileOrder: async (id) => {
      await run("deleteProfileOrder", order(id));
    },
    listProfileOrders: (listOpts = {}) =>
      pages<ProfileOrder>(ctx, "listProfileOrders", (key) => ({ limit: listOpts.limit, last_evaluated_key: key })),
    listOrderedProfiles: (id) =>
      data<OrderedProfile[]>("listOrderedProfiles", order(id), (list) =>
        expectProfilesOf("listOrderedProfiles", id, list),
      ),
    getSubscriber: (imsi) =>
      data<Subscriber>("getSubscriber", { pathParams: { imsi } }, (sub) =>
        expectSubscriber("getSubscriber", imsi, sub),
      ),
    searchSims: (query) =>
      pages<Sim>(ctx, "searchSims", (key) => ({ ...searchParams(query), last_evaluated_key: key })),
    findSimExact: (key) => findSimExact(client, key),
    resolveSimId: (profile) => resolveSimId(client, profile.imsi),
    getSim: simOp("getSim"),
    enableSimTermination: simOp("enableSimTermination"),
    disableSimTermination: simOp("disableSimTermination"),
    // Counted as terminated only when the answer shows it; otherwise the caller must read the SIM again.
    terminateSim: (simId) =>
      data<Sim>("terminateSim", { pathParams: { sim_id: simId } }, (sim) =>
        terminatedAnswer(expectSim("terminateSim", simId, sim)),
      ),
    activateSim: simOp("activateSim"),
    deactivateSim: simOp("deactivateSim"),
    suspendSim: simOp("suspendSim"),
    setSimToStandby: simOp("setSimToStandby"),
    updateSimSpeedClass: (simId, speedClass) => simWith("updateSimSpeedClass", simId, { speedClass }),
    putSimTags: (simId, tags) => simWith("putSimTags", simId, tags),
    deleteSimTag: async (simId, tagName) => {
      await run("deleteSimTag", { pathParams: { sim_id: simId, tag_name: tagName } });
    },
    setSimGroup: (simId, groupId) => simWith("setSimGroup", simId, { groupId }),
    unsetSimGroup: simOp("unsetSimGroup"),
    whoami: async () => ({ operatorId: (await ctx.tokens.get()).operatorId }),
    logout: async () => {
      const session = ctx.tokens.current;
      if (!session) return;
      ctx.tokens.clear();
      await run("logout", { session });
    },
    close: async () => {
      closed = true;
      await ownDispatcher?.close();
    },
    announcedLimit: (ops) => lowestAnnounced(ctx, ops),
  };
  return client;
}

/** lowestAnnounced is the lowest per-minute limit Soracom announced on these operations' paths. */
function lowestAnnounced(ctx: CallContext, ops?: readonly OperationId[]): number | undefined {
  const seen = ops
    ? ops.flatMap((op) => ctx.announced.get(op) ?? [])
    : [...ctx.announced].flatMap(([op, limit]) => (op === "auth" || op === "logout" ? [] : [limit]));
  return seen.length > 0 ? Math.min(...seen) : undefined;
}

/** resolveSimId is the SIM ID of the subscriber with this IMSI, or undefined when Soracom has none. */
async function resolveSimId(client: SoracomClient, imsi: string): Promise<string | undefined> {
  try {
    return (await client.getSubscriber(imsi)).simId;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function buildContext(opts: SoracomClientOptions): CallContext {
  const timeoutSeconds = tokenTimeout(opts);
  const base = new URL(
    resolveEndpoint({
      endpoint: opts.endpoint,
      coverage: opts.coverage,
      sandbox: opts.sandbox,
      env: opts.env ?? process.env,
    }),
  );
  const maxConcurrency = opts.maxConcurrency ?? 4;
  const requestsPerSecond = opts.requestsPerSecond ?? 5;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  const logger = opts.logger ?? silentLogger;
  const ctx: CallContext = {
    dispatcher: opts.dispatcher ?? new Agent({ connections: maxConcurrency }),
    origin: base.origin,
    basePath: base.pathname,
    requestTimeoutMs,
    retry: { ...DEFAULT_RETRY, ...opts.retry },
    limiter: new RequestLimiter({ requestsPerSecond, burst: Math.ceil(requestsPerSecond), maxConcurrency }),
    // The login runs through the same call path as everything else (limiter, deadline, class "login").
    tokens: new TokenSource(() => login(ctx, authBody(opts, timeoutSeconds)), timeoutSeconds, opts.clock),
    logger,
    onRequest: opts.onRequest,
    random: opts.random ?? Math.random,
    userAgent: opts.userAgent ?? "soracom-esim-operator",
    closed: () => false,
    fence: opts.fence,
    announced: new Map(),
    bounds: bounds(opts, requestTimeoutMs),
    guard: (operation, code) => {
      logger.warn({ operation, code }, "soracom answer refused or bounded by the client");
      try {
        opts.onGuard?.({ operation, code });
      } catch (err) {
        logger.warn({ operation, err: (err as Error).message }, "onGuard hook threw; ignored");
      }
    },
    secrets: () => secretsOf(opts.credentials, ctx.tokens.current),
    cappedPause: new Map(),
  };
  return ctx;
}

function bounds(opts: SoracomClientOptions, requestTimeoutMs: number): ClientBounds {
  const b: ClientBounds = {
    maxServerWaitMs: opts.maxServerWaitMs ?? DEFAULT_BOUNDS.maxServerWaitMs,
    maxPages: opts.maxPages ?? DEFAULT_BOUNDS.maxPages,
    maxResponseBytes: opts.maxResponseBytes ?? DEFAULT_BOUNDS.maxResponseBytes,
    callDeadlineMs: opts.callDeadlineMs ?? 2 * requestTimeoutMs,
  };
  for (const [name, value] of Object.entries(b)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  }
  return b;
}

function secretsOf(c: SoracomCredentials, session: { apiKey: string; token: string } | undefined): string[] {
  const own = "authKey" in c ? [c.authKey, c.authKeyId] : [c.password];
  return session ? [...own, session.apiKey, session.token] : own;
}

/**
 * answered checks an answer (validate.ts) and then what the caller expects of it. A never-repeated
 * mutation (create, confirm, terminate) whose answer cannot be trusted was still sent and maybe applied:
 * its outcome is unknown, and the caller must look before recording anything.
 */
function answered<T>(ctx: CallContext, op: OperationId, res: CallResult, expect?: (v: T) => T): T {
  try {
    if (res.data === undefined) throw new SoracomInvalidResponseError(op, "", `HTTP ${res.status} without a body`);
    const value = validAnswer(op, res.data) as T;
    return expect ? expect(value) : value;
  } catch (err) {
    if (!(err instanceof SoracomError)) throw err;
    if (err.code === SoracomErrorCode.invalidResponse || err.code === SoracomErrorCode.mismatch)
      ctx.guard(op, err.code);
    if (OPERATIONS[op].retry === "never") throw new SoracomOutcomeUnknownError(op, err);
    throw err;
  }
}

async function login(ctx: CallContext, body: Record<string, unknown>): Promise<AuthResponse> {
  const auth = answered<AuthResponse>(ctx, "auth", await call(ctx, "auth", { body }));
  return { apiKey: auth.apiKey, token: auth.token, operatorId: String(auth.operatorId ?? "") };
}

function tokenTimeout(opts: SoracomClientOptions): number {
  const seconds = opts.tokenTimeoutSeconds ?? TOKEN_TIMEOUT.default;
  if (!Number.isInteger(seconds) || seconds < TOKEN_TIMEOUT.min || seconds > TOKEN_TIMEOUT.max) {
    throw new RangeError(`tokenTimeoutSeconds must be an integer in ${TOKEN_TIMEOUT.min}..${TOKEN_TIMEOUT.max}`);
  }
  return seconds;
}

function authBody(opts: SoracomClientOptions, tokenTimeoutSeconds: number): Record<string, unknown> {
  const c = opts.credentials;
  if ("authKeyId" in c) return { authKeyId: c.authKeyId, authKey: c.authKey, tokenTimeoutSeconds };
  return { operatorId: c.operatorId, userName: c.userName, password: c.password, tokenTimeoutSeconds };
}

/** pages walks a paginated list, each page checked like any answer, at most maxPages pages. */
function pages<T>(
  ctx: CallContext,
  op: OperationId,
  query: (key: string | undefined) => Record<string, QueryValue>,
): AsyncGenerator<T, void, undefined> {
  return paginate<T>(
    op,
    async (key) => {
      const res = await call(ctx, op, { query: query(key) });
      return { items: answered<T[]>(ctx, op, res), headers: res.headers };
    },
    { maxPages: ctx.bounds.maxPages, onRefused: (code) => ctx.guard(op, code) },
  );
}

function searchParams(query: SearchSimsQuery): Record<string, QueryValue> {
  const params: Record<string, QueryValue> = {};
  for (const [field, wire] of Object.entries(SEARCH_PARAMS) as Array<[keyof SearchSimsQuery, string]>) {
    params[wire] = query[field];
  }
  return params;
}

/**
 * findSimExact: /query/sims matches partially and ignores case, so "8942" finds every ICCID holding
 * those digits. Search, then keep only SIMs carrying the identifier exactly. A SIM ID needs no search:
 * GET /sims/{id} is exact and not subject to the query index's delay.
 */
async function findSimExact(client: SoracomClient, key: ExactSimKey): Promise<Sim | undefined> {
  if ("simId" in key) {
    try {
      return await client.getSim(key.simId);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
  const query: SearchSimsQuery = "iccid" in key ? { iccid: [key.iccid] } : { imsi: [key.imsi] };
  const matches = new Map<string, Sim>();
  for await (const sim of client.searchSims({ ...query, limit: 100 })) {
    if (simCarries(sim, key)) matches.set(sim.simId ?? "", sim);
  }
  if (matches.size > 1) {
    throw new SoracomError(SoracomErrorCode.ambiguous, "searchSims", `${matches.size} SIMs carry the same identifier`);
  }
  return matches.values().next().value;
}
