import { Ajv } from "ajv";
import addFormatsModule, { type FormatsPlugin } from "ajv-formats";

/**
 * One way to compile the vendor's OpenAPI schemas with ajv, shared by the client (answers) and the
 * simulator (requests): the spec's components are registered under SPEC_ID and "#/components/..." refs
 * point there.
 */

export const SPEC_ID = "soracom-spec";

// ajv-formats is CommonJS; under NodeNext its default import is the module object on some toolchains.
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  addFormatsModule) as unknown as FormatsPlugin;

/** localRefsToSpec points "#/components/…" refs at the registered spec document. */
export function localRefsToSpec<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${SPEC_ID}#/components/`)) as T;
}

/** newSpecAjv is an ajv that knows the spec's components; `coerce` turns query strings into numbers. */
export function newSpecAjv(coerce: boolean, components: unknown): Ajv {
  // strict off: OpenAPI schemas carry `example` and other annotations JSON Schema does not know.
  const ajv = new Ajv({ strict: false, allErrors: false, coerceTypes: coerce ? "array" : false });
  addFormats(ajv);
  // The spec uses two non-standard formats as documentation only.
  ajv.addFormat("SimId", true);
  ajv.addFormat("string", true);
  ajv.addSchema({ $id: SPEC_ID, components }, SPEC_ID);
  return ajv;
}
