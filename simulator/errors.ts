/**
 * The simulator's error vocabulary. The wire shape is the real API's flat `{"code","message"}`.
 * AUM0002 and COM0008 are the vendor's own codes (see shared field notes); every other code below is the
 * simulator's choice, because the vendor does not document them. Clients must branch on HTTP status and
 * `code`, never on message text.
 */
export const SimErrorCode = {
  /** 401: missing, unknown, revoked or expired API key / token (the vendor's code here is unconfirmed). */
  Unauthenticated: "AUM0001",
  /** 401 on POST /v1/auth: the credentials do not match. */
  BadCredentials: "AUM0002",
  /** 400 on POST /v1/auth: email + password (root account) login is not simulated. */
  RootLoginNotSimulated: "AUM0003",
  /** 400: a parameter (body, path or query) is invalid; the message names the field. */
  InvalidParameter: "COM0008",
  /** 404: no operation at this path. */
  UnknownPath: "COM0001",
  /** 500: an injected internal error. */
  InternalError: "COM0002",
  /** 503: an injected "service unavailable". */
  ServiceUnavailable: "COM0003",
  /** 429: the per-operation, per-minute rate limit is exhausted (or an injected 429). */
  TooManyRequests: "COM0004",
  /** 404: no eSIM profile order with that ID (or a draft that expired after a day). */
  OrderNotFound: "SPO0001",
  /** 400: quantity exceeds the per-order maximum (20 by default, as the vendor sells). */
  QuantityOverMaximum: "SPO0002",
  /** 400: only a DRAFT order can be confirmed. */
  OrderNotDraftForConfirm: "SPO0003",
  /** 400: only a DRAFT order can be cancelled (deleted). */
  OrderNotDraftForDelete: "SPO0004",
  /** 404: no SIM with that SIM ID. */
  SimNotFound: "SEM0001",
  /** 404: no subscriber with that IMSI. */
  SubscriberNotFound: "SEM0002",
  /** 400: terminate called while termination protection is on (terminationEnabled false). */
  TerminationNotEnabled: "SEM0003",
  /** 400: the SIM status does not allow this status change (see STATUS_TRANSITIONS). */
  StatusTransitionNotAllowed: "SEM0004",
  /** 400: the speed class does not exist for the SIM's subscription. */
  SpeedClassNotAllowed: "SEM0005",
  /** 404: the SIM has no tag with that name. */
  TagNotFound: "SEM0006",
  /** 400: the SIM is terminated and accepts no further change. */
  SimTerminated: "SEM0007",
  /** 400 / 404 / 409 on the /_sim control surface. */
  ControlBadRequest: "CTL0001",
  ControlNotFound: "CTL0002",
  ControlConflict: "CTL0003",
} as const;

export type SimErrorCodeValue = (typeof SimErrorCode)[keyof typeof SimErrorCode];

/** SimulatorHttpError is thrown by handlers; the server turns it into a status and a `{code,message}` body. */
export class SimulatorHttpError extends Error {
  override readonly name = "SimulatorHttpError";
  constructor(
    readonly status: number,
    readonly code: SimErrorCodeValue,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** invalidParameter is the COM0008 400 the real API answers for a bad field; the message names the field. */
export function invalidParameter(message: string): SimulatorHttpError {
  return new SimulatorHttpError(400, SimErrorCode.InvalidParameter, `Invalid parameter: ${message}`);
}
