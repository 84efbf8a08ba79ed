/** The Soracom API client: one import for the controller. */
export { renewalMarginMs, TOKEN_TIMEOUT } from "./auth.js";
export type { RequestEvent } from "./call.js";
export { type ClientBounds, DEFAULT_BOUNDS } from "./call.js";
export {
  createSoracomClient,
  type GuardEvent,
  type MutationOptions,
  type SoracomClient,
  type SoracomClientOptions,
} from "./client.js";
export { type Coverage, type EndpointOptions, resolveEndpoint } from "./endpoint.js";
export * from "./errors.js";
export { simCarries } from "./identity.js";
export { OPERATIONS, type OperationId, type RetryClass } from "./operations.js";
export { DEFAULT_RETRY, type RetryOptions } from "./retry.js";
export type * from "./types.js";
