/**
 * The Soracom API simulator: a local stand-in for api.soracom.io that serves the operations in
 * third_party/soracom-api/soracom-api.subset.yaml plus a /_sim control surface. See README.md here.
 */
export { DEFAULTS, type SimulatorConfig, type SimulatorOptions } from "./config.js";
export type { CallRecord, SimulatorEngine } from "./engine.js";
export { SimErrorCode } from "./errors.js";
export { FAULT_KINDS, type FaultKind } from "./faults.js";
export { type Simulator, startSimulator } from "./server.js";
