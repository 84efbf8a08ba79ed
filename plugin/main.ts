import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { scrubSecrets } from "../controller/log.js";
import { approveCommand } from "./approve.js";
import { KubeCluster } from "./cluster.js";
import { type Command, GLOBAL_OPTIONS, type Options, type Session, stringValue, type Values } from "./command.js";
import { EXIT, PluginError, UsageError } from "./errors.js";
import { exportCommand } from "./export.js";
import type { PluginIo } from "./io.js";
import { type ConnectOptions, loadConnection } from "./kubeconfig.js";
import { qrCommand } from "./qr.js";
import { statusCommand } from "./status.js";

export const COMMANDS: readonly Command[] = [exportCommand, qrCommand, approveCommand, statusCommand];

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
  2  usage (bad flags or arguments; approve without --yes when stdin is not a terminal)
  3  partial (export: some rows could not be read; the others are complete)
  4  not found (the named order or profile)`;

/** usage is the top-level help. */
export function usage(): string {
  const commands = COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join("\n");
  return `kubectl esim: Soracom eSIM profiles managed by soracom-esim-operator, for the people who install them.

Usage:
  kubectl esim <command> [flags]

Commands:
${commands}

${GLOBAL_HELP}

Run 'kubectl esim <command> --help' for a command's flags.
`;
}

/** version reads the package version from the nearest package.json (works from source and from dist). */
export function version(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "soracom-esim-operator") return pkg.version ?? "unknown";
    }
    const parent = path.dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
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
    if (code && PARSE_ERRORS.has(code)) throw new UsageError((err as Error).message);
    throw err;
  }
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
    io.stderr(name === undefined ? usage() : `kubectl-esim: unknown command "${name}"\n\n${usage()}`);
    return EXIT.usage;
  }
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
    if (err instanceof UsageError) io.stderr("Run 'kubectl esim <command> --help' for usage.\n");
    return err instanceof PluginError ? err.exitCode : EXIT.error;
  }
}
