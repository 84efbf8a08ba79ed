#!/usr/bin/env node
/**
 * soracom-esim-operator: the controller's entry point (the image's ENTRYPOINT). The Soracom simulator
 * and the kubectl plugin have their own (simulator/cli.ts, plugin/cli.ts) and are not in the image.
 * The commands are in commands.ts; this file only binds them to the process.
 */
import { type Loaders, runCli } from "./commands.js";

const commands: Loaders = {
  controller: () => import("./main.js"),
};

const io = {
  stdout: (text: string) => process.stdout.write(text),
  stderr: (text: string) => process.stderr.write(text),
};

runCli(process.argv.slice(2), io, commands).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`soracom-esim-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
