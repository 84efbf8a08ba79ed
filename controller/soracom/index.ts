/** The Soracom API client: one import for the controller. */
export { renewalMarginMs, TOKEN_TIMEOUT } from "./auth.js";
export type { RequestEvent } from "./call.js";
export { createSoracomClient, type SoracomClient, type SoracomClientOptions, simCarries } from "./client.js";
export { type Coverage, type EndpointOptions, resolveEndpoint } from "./endpoint.js";
export * from "./errors.js";
export { OPERATIONS, type OperationId, type RetryClass } from "./operations.js";
export { DEFAULT_RETRY, type RetryOptions } from "./retry.js";
export type * from "./types.js";
