import { completionScript, isShell, SHELLS } from "./completion.js";
import { version } from "./version.js";

/**
 * The controller binary's commands (`soracom-esim-operator <command>`): `controller` runs the controller;
 * `version` and `completion` answer without a cluster. cli.ts binds this to the process.
 */

const PROGRAM = "soracom-esim-operator";

const COMMANDS = [
  { name: "controller", summary: "Run the controller against the current kubeconfig" },
  { name: "version", summary: "Print the version" },
  { name: "completion", summary: "Print a shell completion script (bash, zsh or fish)" },
] as const;

export const USAGE = `Usage: ${PROGRAM} <command> [flags]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join("\n")}

Flags:
  -h, --help     Help
      --version  Print the version

Run '${PROGRAM} <command> --help' for the flags of a command.`;

/** CliIo is where the binary writes. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Loaders are the commands that run something, loaded only when asked for (cli.ts names them). */
export type Loaders = Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>>;

/** runCli runs one command and returns the exit code (2: usage). */
export async function runCli(argv: string[], io: CliIo, loaders: Loaders): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "version") {
    io.stdout(`${PROGRAM} ${version()}\n`);
    return 0;
  }
  if (!name || name === "--help" || name === "-h" || name === "help") {
    (name ? io.stdout : io.stderr)(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  if (name === "completion") return completion(rest, io);
  const load = loaders[name];
  if (!load) {
    io.stderr(`${PROGRAM}: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  return (await load()).main(rest);
}

function completion(rest: string[], io: CliIo): number {
  const [shell] = rest;
  if (!isShell(shell) || rest.length !== 1) {
    io.stderr(
      `${PROGRAM}: completion needs one shell: ${SHELLS.join(", ")}\n\nUsage: ${PROGRAM} completion bash|zsh|fish\n`,
    );
    return 2;
  }
  const commands = COMMANDS.map((c) => ({
    ...c,
    flags: c.name === "completion" ? [...SHELLS] : c.name === "controller" ? ["--help", "--version"] : [],
  }));
  io.stdout(completionScript(shell, { program: PROGRAM, commands, globalFlags: ["--help", "--version"] }));
  return 0;
}
