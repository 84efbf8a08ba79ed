#!/usr/bin/env node
/**
 * kubectl-esim: the executable kubectl finds on PATH for `kubectl esim ...`. All logic is in main.ts;
 * this file only binds it to the real process.
 */
import { processIo } from "./io.js";
import { main } from "./main.js";

main(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kubectl-esim: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
