#!/usr/bin/env node
/**
 * soracom-esim-simulator: the Soracom API simulator as a process (`node dist/simulator/cli.js`). All
 * logic is in main.ts; this file only binds it to the real process.
 */
import { main } from "./main.js";

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`soracom-esim-simulator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
