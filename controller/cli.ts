#!/usr/bin/env node
/**
 * soracom-esim-operator: the controller's entry point (the image's ENTRYPOINT). The Soracom simulator
 * and the kubectl plugin have their own (simulator/cli.ts, plugin/cli.ts) and are not in the image.
 */
const USAGE = `Usage: soracom-esim-operator <command> [flags]

Commands:
  controller   Run the controller against the current kubeconfig

Run 'soracom-esim-operator <command> --help' for the flags of a command.`;

const commands: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  controller: () => import("./main.js"),
};

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`soracom-esim-operator: unknown command '${name}'\n\n${USAGE}\n`);
    return 2;
  }
  const mod = await load();
  return mod.main(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`soracom-esim-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
