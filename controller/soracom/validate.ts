import type { ErrorObject, ValidateFunction } from "ajv";
import { SoracomInvalidResponseError } from "./errors.js";
import type { OperationId } from "./operations.js";
import { localRefsToSpec, newSpecAjv } from "./schema.js";
import { COMPONENT_SCHEMAS, RESPONSE_SCHEMAS } from "./schemas.generated.js";
import type { CreateProfileOrderRequest, ProfileOrder, Sim } from "./types.js";

/**
 * Soracom's answers are input. Every answer body is checked here before the client hands it on:
 * 1. the vendor's schema of that operation's success answer (the vendored OpenAPI file, compiled once);
 * 2. the operator's own expectations of it (EXPECTATIONS: the IDs it keys on are non-empty strings, an
 *    order has at least one profile, a subscriber names its SIM);
 * 3. per call, what was asked (createAnswerMatches, terminatedAnswer; identity.ts checks the IDs).
 * A failure is a SoracomInvalidResponseError naming the JSON path, never the value found there.
 * `null` in an optional field is read as absent (the vendor's JSON carries nulls the spec does not declare).
 */

const SIM_STATUSES = ["ready", "active", "inactive", "standby", "suspended", "terminated"];

const nonEmpty = { type: "string", minLength: 1 };
const SIM = { type: "object", required: ["simId"], properties: { simId: nonEmpty } };
const ORDER = {
  type: "object",
  properties: { profileOrderId: nonEmpty, quantity: { type: "integer", minimum: 1 } },
};
const PROFILE = { type: "object", properties: { profileOrderId: nonEmpty, iccid: nonEmpty, imsi: nonEmpty } };
const SUBSCRIBER = { type: "object", required: ["imsi", "simId"], properties: { imsi: nonEmpty, simId: nonEmpty } };
const AUTH = { type: "object", required: ["apiKey", "token"], properties: { apiKey: nonEmpty, token: nonEmpty } };
const list = (item: object) => ({ type: "array", items: item });

/** EXPECTATIONS: what the operator requires of an answer beyond the vendor's schema. */
const EXPECTATIONS: Partial<Record<OperationId, object>> = {
  auth: AUTH,
  createProfileOrder: ORDER,
  confirmProfileOrder: ORDER,
  getProfileOrder: ORDER,
  listProfileOrders: list(ORDER),
  listOrderedProfiles: list(PROFILE),
  getSubscriber: SUBSCRIBER,
  searchSims: list(SIM),
  getSim: SIM,
  enableSimTermination: SIM,
  disableSimTermination: SIM,
  terminateSim: SIM,
  activateSim: SIM,
  deactivateSim: SIM,
  suspendSim: SIM,
  setSimToStandby: SIM,
  updateSimSpeedClass: SIM,
  putSimTags: SIM,
  setSimGroup: SIM,
  unsetSimGroup: SIM,
};

/**
 * The statuses the operator decides on: only the vendor's values pass. Every other enum in the spec
 * describes fields the operator never reads (radio type, region, module type, expiry action); a value
 * Soracom adds there later must not stop every SIM read, so those are checked for their type only.
 */
const DECIDING_ENUMS = new Set([
  "SimProfileOrderResponse.status",
  "OrderedSimProfileResponse.profileStatus",
  "Sim.status",
  "Subscriber.status",
  "SimplifiedSubscriber.status",
]);

/**
 * The compiled copy of the spec's components: enums narrowed to DECIDING_ENUMS. The spec's
 * SimplifiedSubscriber.status enum lacks inactive, standby and suspended, although its own description
 * says a primary subscription reports the SIM's status: the SIM statuses are allowed there.
 */
function answerComponents(): { schemas: Record<string, unknown> } {
  const schemas = structuredClone(COMPONENT_SCHEMAS) as Record<
    string,
    { properties?: Record<string, { enum?: string[] }> }
  >;
  for (const [name, schema] of Object.entries(schemas)) {
    for (const [field, property] of Object.entries(schema.properties ?? {})) {
      if (property.enum && !DECIDING_ENUMS.has(`${name}.${field}`)) delete property.enum;
    }
  }
  const status = schemas.SimplifiedSubscriber?.properties?.status;
  if (status?.enum) status.enum = [...new Set([...status.enum, ...SIM_STATUSES])];
  return { schemas };
}

let compiled: Map<string, ValidateFunction> | undefined;

function validatorFor(operation: OperationId): ValidateFunction | undefined {
  compiled ??= new Map();
  const known = compiled.get(operation);
  if (known) return known;
  const vendor = RESPONSE_SCHEMAS[operation];
  const own = EXPECTATIONS[operation];
  if (!vendor && !own) return undefined;
  const ajv = ajvInstance();
  const validate = ajv.compile({ allOf: [vendor ? localRefsToSpec(vendor) : {}, own ?? {}] });
  compiled.set(operation, validate);
  return validate;
}

let sharedAjv: ReturnType<typeof newSpecAjv> | undefined;
function ajvInstance() {
  sharedAjv ??= newSpecAjv(false, answerComponents());
  return sharedAjv;
}

/** withoutNulls drops object members whose value is null, at every depth (array elements are kept). */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
  return out;
}

/** pathOf renders the first ajv error as a JSON pointer (a missing member's own path) and a problem. */
function problemOf(error: ErrorObject | undefined): { path: string; problem: string } {
  if (!error) return { path: "", problem: "does not match the schema" };
  if (error.keyword === "required") {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { path: `${error.instancePath}/${missing}`, problem: "is missing" };
  }
  if (error.keyword === "enum") return { path: error.instancePath, problem: "is not one of the vendor's values" };
  return { path: error.instancePath, problem: error.message ?? "does not match the schema" };
}

/** validAnswer checks an answer body against its operation's schema and expectations; returns it without nulls. */
export function validAnswer(operation: OperationId, body: unknown): unknown {
  const data = withoutNulls(body);
  const validate = validatorFor(operation);
  if (validate && !validate(data)) {
    const { path, problem } = problemOf(validate.errors?.[0]);
    throw new SoracomInvalidResponseError(operation, path, problem);
  }
  return data;
}

/** createAnswerMatches: the order made is the one asked for (quantity, plan, speed class, bundles, description). */
export function createAnswerMatches(req: CreateProfileOrderRequest, order: ProfileOrder): ProfileOrder {
  const differs = (field: string) =>
    new SoracomInvalidResponseError("createProfileOrder", `/${field}`, "differs from what was ordered");
  if (order.quantity !== req.quantity) throw differs("quantity");
  if (order.subscription !== req.subscription) throw differs("subscription");
  if (req.speedClass !== undefined && order.speedClass !== req.speedClass) throw differs("speedClass");
  // The operator finds its orders again by the marker in the description.
  if (req.description !== undefined && order.description !== req.description) throw differs("description");
  const asked = [...(req.bundles ?? [])].sort().join(",");
  if (asked !== "" && [...(order.bundles ?? [])].sort().join(",") !== asked) throw differs("bundles");
  return order;
}

/** terminatedAnswer: a terminate answer counts only when it shows the SIM terminated. */
export function terminatedAnswer(sim: Sim): Sim {
  if (sim.status !== "terminated") {
    throw new SoracomInvalidResponseError("terminateSim", "/status", 'is not "terminated"');
  }
  return sim;
}
