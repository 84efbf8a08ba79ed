/**
 * Errors of the kubectl-esim plugin. Each has a stable `code` (decided on, never the message text)
 * and the exit code a script sees. Messages are whole sentences a person at the bench can act on.
 */

/** EXIT are the plugin's exit codes, documented in `kubectl esim --help`. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  partial: 3,
  notFound: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** PluginError is the base: `code` is stable, `exitCode` is what the process returns. */
export class PluginError extends Error {
  readonly code: string = "ESIM_PLUGIN_ERROR";
  readonly exitCode: ExitCode = EXIT.error;
}

/** UsageError: bad flags or arguments; the command's usage is worth showing. */
export class UsageError extends PluginError {
  override readonly code = "ESIM_USAGE";
  override readonly exitCode = EXIT.usage;
  /** The command whose usage is shown under the error (set by the parser; commands leave it out). */
  constructor(
    message: string,
    readonly command?: { name: string; help: string },
  ) {
    super(message);
  }
}

/** RefusedError: the command will not act without an explicit go-ahead (e.g. approve off a terminal). */
export class RefusedError extends PluginError {
  override readonly code = "ESIM_REFUSED";
  override readonly exitCode = EXIT.usage;
}

/** KubeconfigMissingError: nothing to connect with (no KUBECONFIG, no ~/.kube/config, not in a pod). */
export class KubeconfigMissingError extends PluginError {
  override readonly code = "ESIM_NO_KUBECONFIG";
}

/** ContextNotFoundError: --context names a context the kubeconfig does not have. */
export class ContextNotFoundError extends PluginError {
  override readonly code = "ESIM_CONTEXT_NOT_FOUND";
}

/** CrdMissingError: the apiserver does not serve the operator's kinds. */
export class CrdMissingError extends PluginError {
  override readonly code = "ESIM_CRD_MISSING";
}

/** ForbiddenError: RBAC said no (403); carries the verb and resource that were refused. */
export class ForbiddenError extends PluginError {
  override readonly code = "ESIM_FORBIDDEN";
  constructor(
    message: string,
    readonly verb: string,
    readonly resource: string,
    readonly namespace: string | undefined,
  ) {
    super(message);
  }
}

/** UnauthorizedError: the apiserver did not accept the credentials (401). */
export class UnauthorizedError extends PluginError {
  override readonly code = "ESIM_UNAUTHORIZED";
}

/** NotFoundError: the named object does not exist. */
export class NotFoundError extends PluginError {
  override readonly code = "ESIM_NOT_FOUND";
  override readonly exitCode = EXIT.notFound;
}

/** ConflictError: the object changed between read and write (409) more often than we retry. */
export class ConflictError extends PluginError {
  override readonly code = "ESIM_CONFLICT";
}

/** UnreachableError: no answer from the apiserver (refused, reset, DNS, TLS). */
export class UnreachableError extends PluginError {
  override readonly code = "ESIM_UNREACHABLE";
}

/** ApiError: any other apiserver answer we did not expect. */
export class ApiError extends PluginError {
  override readonly code = "ESIM_API";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** AbortedError: the person answered no at the prompt; nothing changed. */
export class AbortedError extends PluginError {
  override readonly code = "ESIM_ABORTED";
}
