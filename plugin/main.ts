import { parseArgs } from "node:util";
import { completionScript, isShell, SHELLS } from "../controller/completion.js";
import { scrubSecrets } from "../controller/log.js";
import { version } from "../controller/version.js";
import { ackCommand } from "./ack.js";
import { approveCommand } from "./approve.js";
import { KubeCluster } from "./cluster.js";
import { type Command, GLOBAL_OPTIONS, type Options, type Session, stringValue, type Values } from "./command.js";
import { EXIT, PluginError, UsageError } from "./errors.js";
import { exportCommand } from "./export.js";
import type { PluginIo } from "./io.js";
import { type ConnectOptions, loadConnection } from "./kubeconfig.js";
import { qrCommand } from "./qr.js";
import { refreshCommand } from "./refresh.js";
import { resumeCommand } from "./resume.js";
import { statusCommand } from "./status.js";
import { closest } from "./suggest.js";

export { version };

const versionCommand: Command = {
  name: "version",
  summary: "Print the version",
  options: {},
  help: "Print the plugin's version.\n\nUsage:\n  kubectl esim version\n\nExit codes: 0 ok, 2 usage.\n",
  async run(ctx) {
    ctx.io.stdout(`kubectl-esim ${version()}\n`);
    return EXIT.ok;
  },
};

const completionCommand: Command = {
  name: "completion",
  summary: "Print a shell completion script (bash, zsh or fish)",
  options: {},
  help: `Print a shell completion script for kubectl-esim.

Usage:
  kubectl esim completion bash|zsh|fish

  bash:  source <(kubectl-esim completion bash)
  zsh:   source <(kubectl-esim completion zsh)
  fish:  kubectl-esim completion fish | source

Exit codes: 0 ok, 2 usage.
`,
  async run(ctx) {
    const [shell, ...more] = ctx.positionals;
    if (!isShell(shell) || more.length > 0) throw new UsageError(`completion needs one shell: ${SHELLS.join(", ")}`);
    const commands = COMMANDS.map((c) => ({
      name: c.name,
      summary: c.summary,
      flags: c.name === "completion" ? [...SHELLS] : Object.keys(c.options).map((f) => `--${f}`),
    }));
    const globalFlags = Object.keys(GLOBAL_OPTIONS).map((f) => `--${f}`);
    ctx.io.stdout(completionScript(shell, { program: "kubectl-esim", commands, globalFlags }));
    return EXIT.ok;
  },
};

export const COMMANDS: readonly Command[] = [
  exportCommand,
  qrCommand,
  approveCommand,
  ackCommand,
  resumeCommand,
  refreshCommand,
  statusCommand,
  completionCommand,
  versionCommand,
];

const GLOBAL_HELP = `Global flags (every command):
  -n, --namespace NAME    Namespace (default: the kubeconfig context's, else "default")
  -A, --all-namespaces    Every namespace (export and status)
      --context NAME      Kubeconfig context to use
      --kubeconfig FILE   Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
  -h, --help              Help for a command
      --version           Print the version

Exit codes:
  0  ok
  1  error (no kubeconfig, CRDs not installed, no permission, apiserver unreachable, ...)
  2  usage (bad flags or arguments; approve, ack or resume without --yes when stdin is not a terminal)
  3  partial (export, qr ORDER: some profiles could not be read; the others are complete)
  4  not found (the named order or profile)`;

/** usage is the top-level help. */
export function usage(): string {
  const commands = COMMANDS.map((c) => `  ${c.name.padEnd(11)} ${c.summary}`).join("\n");
  return `kubectl esim: Soracom eSIM profiles managed by soracom-esim-operator, for the people who install them.

Usage:
  kubectl esim <command> [flags]

Commands:
${commands}

${GLOBAL_HELP}

Run 'kubectl esim <command> --help' for a command's flags.
`;
}

const ALL_OPTIONS: Options = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options));

/**
 * findCommand finds the subcommand wherever it sits (`kubectl esim -n x export` works like
 * kubectl), parsing leniently with every known flag so a flag's value is not taken for a command.
 */
function findCommand(argv: string[]): { command?: Command; name?: string; rest: string[] } {
  const { tokens } = parseArgs({
    args: argv,
    options: ALL_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = tokens.find((t) => t.kind === "positional");
  if (!first) return { rest: argv };
  const rest = argv.filter((_, i) => i !== first.index);
  return { command: COMMANDS.find((c) => c.name === first.value), name: first.value, rest };
}

/** PARSE_ERRORS are node:util parseArgs error codes: a person's typo, so a usage error (exit 2). */
const PARSE_ERRORS = new Set([
  "ERR_PARSE_ARGS_UNKNOWN_OPTION",
  "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
  "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
]);

/**
 * parseError turns node:util's message ("Unknown option '-w'. To specify a positional argument ...") into
 * one line a person reads: the flag, what is wrong with it, and the flags the command has.
 */
export function parseError(command: Command, err: Error & { code?: string }): UsageError {
  const flag = /'([^']+)'/.exec(err.message)?.[1]?.split(/[ ,<]/)[0] ?? "";
  const known = Object.keys({ ...command.options, ...GLOBAL_OPTIONS }).map((f) => `--${f}`);
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const near = closest(flag, known, 1);
    const hint = near.length > 0 ? `; did you mean ${near[0]}?` : "";
    return new UsageError(`unknown flag ${flag} for "kubectl esim ${command.name}"${hint}`, command);
  }
  const text = err.message.includes("argument missing") ? "needs a value" : "takes no value";
  return new UsageError(`flag ${flag} ${text} (kubectl esim ${command.name})`, command);
}

function parseCommandArgs(command: Command, rest: string[]): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
    });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code && PARSE_ERRORS.has(code)) throw parseError(command, err as Error);
    throw err;
  }
}

/** usageLines are the "Usage:" lines of a command's help. */
export function usageLines(command: { help: string }): string {
  const help = command.help.split("\n");
  const at = help.indexOf("Usage:");
  if (at < 0) return "";
  const end = help.indexOf("", at);
  return `${help.slice(at, end < 0 ? undefined : end).join("\n")}\n`;
}

/** Connect builds a Session from the global flags; tests pass their own. */
export type Connect = (opts: ConnectOptions & { allNamespaces: boolean }) => Promise<Session>;

const connectKube: Connect = async (opts) => {
  const conn = loadConnection(opts);
  return { cluster: new KubeCluster(conn.kubeConfig), namespace: conn.namespace, allNamespaces: opts.allNamespaces };
};

function print(io: PluginIo, text: string): number {
  io.stdout(text);
  return EXIT.ok;
}

async function dispatch(argv: string[], io: PluginIo, connect: Connect): Promise<number> {
  const { command, name, rest } = findCommand(argv);
  if (!command) {
    if (argv.includes("--version")) return print(io, `kubectl-esim ${version()}\n`);
    const asked = argv.includes("--help") || argv.includes("-h") || name === "help";
    if (asked) return print(io, usage());
    if (name === undefined) {
      io.stderr(usage());
      return EXIT.usage;
    }
    const near = closest(
      name,
      COMMANDS.map((c) => c.name),
      1,
    );
    const hint = near.length > 0 ? `; did you mean "${near[0]}"?` : "";
    io.stderr(`kubectl-esim: unknown command "${name}"${hint}\n\n${usage()}`);
    return EXIT.usage;
  }
  try {
    return await runCommand(command, rest, io, connect);
  } catch (err) {
    // A command's own usage errors (a missing ORDER, -A with a name) show its usage too.
    if (err instanceof UsageError && !err.command) throw new UsageError(err.message, command);
    throw err;
  }
}

async function runCommand(command: Command, rest: string[], io: PluginIo, connect: Connect): Promise<number> {
  const { values, positionals } = parseCommandArgs(command, rest);
  if (values.help === true) return print(io, `${command.help}\n${GLOBAL_HELP}\n`);
  if (values.version === true) return print(io, `kubectl-esim ${version()}\n`);
  const opts = {
    kubeconfig: stringValue(values, "kubeconfig"),
    context: stringValue(values, "context"),
    namespace: stringValue(values, "namespace"),
    allNamespaces: values["all-namespaces"] === true,
  };
  if (opts.allNamespaces && opts.namespace) throw new UsageError("use either -n NAMESPACE or -A, not both");
  let session: Session | undefined;
  try {
    return await command.run({ io, values, positionals, connect: async () => (session ??= await connect(opts)) });
  } finally {
    session?.cluster.close?.();
  }
}

/**
 * main runs `kubectl esim ...` and returns the exit code. Every failure becomes one line on stderr
 * (usage errors add a pointer to --help); secrets are scrubbed from messages just in case.
 */
export async function main(argv: string[], io: PluginIo, connect: Connect = connectKube): Promise<number> {
  try {
    return await dispatch(argv, io, connect);
  } catch (err) {
    const message = scrubSecrets(err instanceof Error ? err.message : String(err));
    io.stderr(`kubectl-esim: ${message}\n`);
    if (err instanceof UsageError) {
      if (err.command) io.stderr(`\n${usageLines(err.command)}`);
      io.stderr(`Run 'kubectl esim ${err.command?.name ?? "<command>"} --help' for usage.\n`);
    }
    return err instanceof PluginError ? err.exitCode : EXIT.error;
  }
}
