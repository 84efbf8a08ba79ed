import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";
import YAML from "yaml";
import { localRefsToSpec, newSpecAjv } from "../controller/soracom/schema.js";
import { invalidParameter } from "./errors.js";

/**
 * spec.ts reads the vendored subset of Soracom's OpenAPI document and turns it into a route table with
 * compiled ajv validators, so the simulator rejects exactly what the spec says is invalid.
 */

const SPEC_RELATIVE_PATH = path.join("third_party", "soracom-api", "soracom-api.subset.yaml");

interface ParameterObject {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: Record<string, unknown>;
}

interface OperationObject {
  operationId: string;
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Record<string, unknown> }> };
  responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}

export interface Route {
  operationId: string;
  method: string;
  /** The spec's path template, without the /v1 server prefix. */
  template: string;
  regex: RegExp;
  pathParamNames: string[];
  /** Names of query parameters whose schema is an array (explode: repeated or comma-separated). */
  arrayQueryParams: Set<string>;
  validatePath: ValidateFunction;
  validateQuery: ValidateFunction;
  validateBody?: ValidateFunction;
  bodyRequired: boolean;
}

export interface RouteMatch {
  route: Route;
  pathParams: Record<string, string>;
}

export interface ValidatedRequest {
  pathParams: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

/** findSpecFile walks up from this module to the package root, which ships third_party/ (see package.json files). */
export function findSpecFile(start = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, SPEC_RELATIVE_PATH);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${SPEC_RELATIVE_PATH} above ${start}`);
    dir = parent;
  }
}

function paramsSchema(params: ParameterObject[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const p of params) {
    properties[p.name] = localRefsToSpec(p.schema ?? {});
    if (p.required) required.push(p.name);
  }
  return { type: "object", properties, required };
}

function templateRegex(template: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template
    .split("/")
    .map((segment) => {
      const m = /^\{(.+)\}$/.exec(segment);
      if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(m[1]!);
      return "([^/]+)";
    })
    .join("/");
  return { regex: new RegExp(`^${source}$`), names };
}

export class SpecRoutes {
  readonly routes: Route[] = [];
  readonly version: string;
  private readonly responseAjv: Ajv;

  constructor(readonly doc: { info: { version: string }; paths: Record<string, Record<string, OperationObject>> }) {
    this.version = doc.info.version;
    const components = (doc as unknown as { components: unknown }).components;
    const paramAjv = newSpecAjv(true, components);
    const bodyAjv = newSpecAjv(false, components);
    this.responseAjv = bodyAjv;
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const params = op.parameters ?? [];
        const { regex, names } = templateRegex(template);
        const bodySchema = op.requestBody?.content?.["application/json"]?.schema;
        this.routes.push({
          operationId: op.operationId,
          method: method.toUpperCase(),
          template,
          regex,
          pathParamNames: names,
          arrayQueryParams: new Set(
            params.filter((p) => p.in === "query" && p.schema?.type === "array").map((p) => p.name),
          ),
          validatePath: paramAjv.compile(paramsSchema(params.filter((p) => p.in === "path"))),
          validateQuery: paramAjv.compile(paramsSchema(params.filter((p) => p.in === "query"))),
          validateBody: bodySchema ? bodyAjv.compile(localRefsToSpec(bodySchema)) : undefined,
          bodyRequired: op.requestBody?.required === true,
        });
      }
    }
  }

  /** operationIds lists every operation the simulator serves. */
  operationIds(): string[] {
    return this.routes.map((r) => r.operationId);
  }

  /** match finds the operation for a method and a path below /v1; undefined when nothing matches. */
  match(method: string, pathBelowV1: string): RouteMatch | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.regex.exec(pathBelowV1);
      if (!m) continue;
      const pathParams: Record<string, string> = {};
      route.pathParamNames.forEach((name, i) => {
        pathParams[name] = decodeURIComponent(m[i + 1]!);
      });
      return { route, pathParams };
    }
    return undefined;
  }

  /** validate checks path, query and body against the spec and throws a COM0008 naming the first bad field. */
  validate(match: RouteMatch, search: URLSearchParams, body: unknown): ValidatedRequest {
    const { route } = match;
    const pathParams = { ...match.pathParams };
    if (!route.validatePath(pathParams)) throw invalidParameter(describe("path", route.validatePath.errors));
    const query: Record<string, unknown> = {};
    for (const key of new Set(search.keys())) {
      query[key] = route.arrayQueryParams.has(key) ? search.getAll(key) : search.get(key);
    }
    if (!route.validateQuery(query)) throw invalidParameter(describe("query", route.validateQuery.errors));
    if (route.validateBody) {
      if (body === undefined && route.bodyRequired) throw invalidParameter("request body is required");
      const value = body ?? {};
      if (!route.validateBody(value)) throw invalidParameter(describe("body", route.validateBody.errors));
      return { pathParams, query, body: value };
    }
    return { pathParams, query, body };
  }

  /** responseValidator compiles the schema of an operation's response, for tests that check shapes. */
  responseValidator(operationId: string, status: string): ValidateFunction | undefined {
    const route = this.routes.find((r) => r.operationId === operationId);
    if (!route) return undefined;
    const op = this.doc.paths[route.template]?.[route.method.toLowerCase()];
    const schema = op?.responses?.[status]?.content?.["application/json"]?.schema;
    return schema ? this.responseAjv.compile(localRefsToSpec(schema)) : undefined;
  }
}

/** fieldName turns an ajv instance path ("/0/tagName") into "body[0].tagName". */
function fieldName(where: string, instancePath: string): string {
  let out = where;
  for (const seg of instancePath.split("/").slice(1)) {
    const s = seg.replaceAll("~1", "/").replaceAll("~0", "~");
    out += /^\d+$/.test(s) ? `[${s}]` : `.${s}`;
  }
  return out;
}

/** describe renders the first ajv error as "body.quantity must be <= 100". */
export function describe(where: string, errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return `${where} is invalid`;
  if (e.keyword === "required") {
    return `${fieldName(where, e.instancePath)}.${(e.params as { missingProperty: string }).missingProperty} is required`;
  }
  if (e.keyword === "enum") {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.join(", ");
    return `${fieldName(where, e.instancePath)} must be one of: ${allowed}`;
  }
  return `${fieldName(where, e.instancePath)} ${e.message ?? "is invalid"}`;
}

let cached: SpecRoutes | undefined;

/** loadSpecRoutes parses the vendored spec once per process (it is ~2000 lines of YAML). */
export function loadSpecRoutes(file?: string): SpecRoutes {
  if (!file && cached) return cached;
  const doc = YAML.parse(fs.readFileSync(file ?? findSpecFile(), "utf8"));
  const routes = new SpecRoutes(doc);
  if (!file) cached = routes;
  return routes;
}
