import fs from "node:fs";
import { Ajv, type ErrorObject } from "ajv";
import YAML from "yaml";
import type { RecordedExchange } from "./soracom-recorder.js";

/** The vendored subset of Soracom's spec: the contract both the client and the simulator answer to. */
export const VENDORED_SPEC = new URL("../../third_party/soracom-api/soracom-api.subset.yaml", import.meta.url);

/** Violation is one way an exchange departs from the spec. */
export interface Violation {
  operation: string;
  where: "route" | "request.query" | "request.path" | "request.body" | "response.status" | "response.body";
  message: string;
}

interface Parameter {
  name: string;
  in: "query" | "path" | "header";
  required?: boolean;
  schema?: Record<string, unknown>;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  op: Operation;
}

/** SpecChecker holds the compiled spec; `check` lists every violation of one recorded exchange. */
export interface SpecChecker {
  check(exchange: RecordedExchange): Violation[];
  operationOf(exchange: RecordedExchange): string | undefined;
}

/**
 * ERRATA: places where the spec contradicts itself, each widened on load with the reason. Keep short.
 * - SimplifiedSubscriber.status: the enum lists shipped, delivered, ready, active, terminated, but the
 *   description says a primary subscription carries the IoT SIM's status (ready, active, inactive,
 *   standby, suspended, terminated). A SIM set to standby therefore shows "standby" there.
 */
function applyErrata(components: Record<string, unknown>): void {
  const schemas = components.schemas as Record<string, { properties?: Record<string, { enum?: string[] }> }>;
  const status = schemas.SimplifiedSubscriber?.properties?.status;
  if (status?.enum) status.enum = [...new Set([...status.enum, "inactive", "standby", "suspended"])];
}

/** Formats the vendor uses that are not JSON Schema formats: integer widths and labels; types already check them. */
const VENDOR_FORMATS = ["int32", "int64", "SimId", "string"];

/**
 * loadSpecChecker compiles the spec's schemas with ajv. `#/components/...` references resolve
 * against the spec document itself. Request bodies are also checked for properties the schema does not
 * name (the spec leaves additionalProperties open, which would let a misspelt field pass unnoticed).
 */
export function loadSpecChecker(file: URL = VENDORED_SPEC): SpecChecker {
  const doc = YAML.parse(fs.readFileSync(file, "utf8")) as {
    paths: Record<string, Record<string, Operation>>;
    components: Record<string, unknown>;
  };
  applyErrata(doc.components);
  const ajv = new Ajv({ strict: false, allErrors: true });
  const params = new Ajv({ strict: false, allErrors: true, coerceTypes: "array" });
  for (const a of [ajv, params]) {
    for (const f of VENDOR_FORMATS) a.addFormat(f, true);
    a.addSchema({ $id: "soracom.json", components: doc.components });
  }
  const routes: Route[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      const pattern = new RegExp(`^/v1${path.replace(/\{[^}]+\}/g, "([^/]+)")}$`);
      routes.push({ method: method.toUpperCase(), pattern, names, op });
    }
  }
  const rebase = (schema: Record<string, unknown>) =>
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"soracom.json#/components/'));
  const validate = (engine: Ajv, schema: Record<string, unknown>, value: unknown) => {
    const fn = engine.compile(rebase(schema));
    return fn(value) ? [] : (fn.errors ?? []);
  };
  const resolve = (schema: Record<string, unknown> | undefined): Record<string, unknown> | undefined => {
    const ref = schema?.$ref;
    if (typeof ref !== "string") return schema;
    const name = ref.replace("#/components/schemas/", "");
    return resolve((doc.components.schemas as Record<string, Record<string, unknown>>)[name]);
  };

  const find = (ex: RecordedExchange) => {
    const pathname = new URL(ex.path, "http://x").pathname;
    for (const route of routes) {
      const m = route.method === ex.method ? route.pattern.exec(pathname) : null;
      if (m) return { route, values: m.slice(1).map(decodeURIComponent) };
    }
    return undefined;
  };

  return {
    operationOf: (ex) => find(ex)?.route.op.operationId,
    check(ex) {
      const found = find(ex);
      if (!found) return [{ operation: "?", where: "route", message: `no operation at ${ex.method} ${ex.path}` }];
      const { op } = found.route;
      const out: Violation[] = [];
      const add = (where: Violation["where"], errors: Array<ErrorObject | string>) => {
        for (const e of errors) {
          out.push({
            operation: op.operationId,
            where,
            message: typeof e === "string" ? e : `${e.instancePath || "/"} ${e.message}`,
          });
        }
      };
      add(
        "request.path",
        checkPath(op, found.route.names, found.values, (s, v) => validate(params, s, v)),
      );
      add(
        "request.query",
        checkQuery(op, ex.path, (s, v) => validate(params, s, v)),
      );
      add(
        "request.body",
        checkBody(op, ex.requestBody, resolve, (s, v) => validate(ajv, s, v)),
      );
      if (ex.status !== undefined) {
        add("response.status", ex.status in op.responses ? [] : [`status ${ex.status} is not declared`]);
        add(
          "response.body",
          checkResponse(op, ex, (s, v) => validate(ajv, s, v)),
        );
      }
      return out;
    },
  };
}

type Check = (schema: Record<string, unknown>, value: unknown) => ErrorObject[];

function checkPath(op: Operation, names: string[], values: string[], check: Check): ErrorObject[] {
  const properties: Record<string, unknown> = {};
  for (const p of op.parameters ?? []) if (p.in === "path") properties[p.name] = p.schema ?? {};
  const value = Object.fromEntries(names.map((n, i) => [n, values[i]]));
  return check({ type: "object", properties, required: names, additionalProperties: false }, value);
}

function checkQuery(op: Operation, path: string, check: Check): ErrorObject[] {
  const declared = (op.parameters ?? []).filter((p) => p.in === "query");
  const search = new URL(path, "http://x").searchParams;
  const value: Record<string, unknown> = {};
  for (const name of new Set(search.keys())) {
    const schema = declared.find((p) => p.name === name)?.schema;
    value[name] = schema?.type === "array" ? search.getAll(name) : search.get(name);
  }
  const properties = Object.fromEntries(declared.map((p) => [p.name, p.schema ?? {}]));
  const required = declared.filter((p) => p.required).map((p) => p.name);
  return check({ type: "object", properties, required, additionalProperties: false }, value);
}

function checkBody(
  op: Operation,
  body: string | undefined,
  resolve: (s: Record<string, unknown> | undefined) => Record<string, unknown> | undefined,
  check: Check,
): Array<ErrorObject | string> {
  const schema = op.requestBody?.content?.["application/json"]?.schema;
  if (body === undefined || body === "") return op.requestBody?.required ? ["a required body is missing"] : [];
  if (!schema) return ["a body was sent to an operation that takes none"];
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return ["the body is not JSON"];
  }
  const resolved = resolve(schema);
  const itemSchema = resolved?.type === "array" ? resolve(resolved.items as Record<string, unknown>) : resolved;
  const items = Array.isArray(value) ? value : [value];
  const known = Object.keys((itemSchema?.properties as Record<string, unknown> | undefined) ?? {});
  const unknown = items.flatMap((item) =>
    item && typeof item === "object" ? Object.keys(item).filter((k) => known.length > 0 && !known.includes(k)) : [],
  );
  return [...check(schema, value), ...unknown.map((k) => `property "${k}" is not in the schema`)];
}

function checkResponse(op: Operation, ex: RecordedExchange, check: Check): Array<ErrorObject | string> {
  const status = ex.status ?? 0;
  if (status < 200 || status >= 300) return [];
  const schema = op.responses[String(status)]?.content?.["application/json"]?.schema;
  if (!schema) return ex.responseBody.trim() === "" ? [] : [`status ${status} declares no body, got one`];
  try {
    return check(schema, JSON.parse(ex.responseBody));
  } catch {
    return ["the response body is not JSON"];
  }
}
