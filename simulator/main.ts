import { parseArgs } from "node:util";
import { createLogger } from "../controller/log.js";
import { DEFAULTS, type SimulatorOptions } from "./config.js";
import { startSimulator } from "./server.js";

/** `soracom-esim-simulator` (simulator/cli.ts): run the Soracom API simulator until SIGINT or SIGTERM. */

const USAGE = `Usage: soracom-esim-simulator [flags]

Runs a local stand-in for the Soracom API (paths under /v1) with a control surface under /_sim.

Flags:
  --port <n>                      TCP port (env SORACOM_SIMULATOR_PORT; default 0 = any free port)
  --host <addr>                   address to bind (default ${DEFAULTS.host})
  --auth-key-id <id>              accepted AuthKey ID (env SORACOM_SIMULATOR_AUTH_KEY_ID; default ${DEFAULTS.authKeyId})
  --auth-key <secret>             accepted AuthKey (env SORACOM_SIMULATOR_AUTH_KEY; default ${DEFAULTS.authKey})
  --operator-id <id>              operator ID (default ${DEFAULTS.operatorId})
  --state-file <path>             load state from this JSON file; save on change and on exit
  --confirm-delay-ms <n>          simulated ms from CONFIRMED to IN_PROGRESS (default ${DEFAULTS.config.confirmDelayMs})
  --in-progress-delay-ms <n>      simulated ms from IN_PROGRESS to COMPLETED (default ${DEFAULTS.config.inProgressDelayMs})
  --max-profiles-per-order <n>    largest quantity one order may ask for (default ${DEFAULTS.config.maxProfilesPerOrder})
  --list-visibility-delay-ms <n>  simulated ms before a new order shows in the order list (default 0)
  --search-visibility-delay-ms <n> simulated ms before a new SIM shows in /query/sims (default 0)
  --rate-limit-per-minute <n>     calls per operation per minute before 429 (default ${DEFAULTS.config.rateLimitPerMinute})
  --latency-ms <n>                real ms every /v1 call waits before its answer (default 0)
  --token-timeout-seconds <n>     longest token lifetime granted (default ${DEFAULTS.config.tokenTimeoutSeconds})
  --clock <wall|manual>           wall (default): simulated time runs, plus /_sim/clock/advance; manual: only advances
  --log-level <level>             pino level (default info; env LOG_LEVEL)
  -h, --help                      show this help`;

const OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  "auth-key-id": { type: "string" },
  "auth-key": { type: "string" },
  "operator-id": { type: "string" },
  "state-file": { type: "string" },
  "confirm-delay-ms": { type: "string" },
  "in-progress-delay-ms": { type: "string" },
  "max-profiles-per-order": { type: "string" },
  "list-visibility-delay-ms": { type: "string" },
  "search-visibility-delay-ms": { type: "string" },
  "rate-limit-per-minute": { type: "string" },
  "latency-ms": { type: "string" },
  "token-timeout-seconds": { type: "string" },
  "log-level": { type: "string" },
  clock: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

class UsageError extends Error {
  readonly code = "SIMULATOR_USAGE";
}

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} must be a non-negative integer, got '${value}'`);
  return Number(value);
}

/** optionsFromArgs turns flags (and the SORACOM_SIMULATOR_* environment) into startSimulator options. */
export function optionsFromArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): SimulatorOptions | "help" {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];
  try {
    values = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return "help";
  const opts: SimulatorOptions = {};
  const set = <K extends keyof SimulatorOptions>(key: K, value: SimulatorOptions[K] | undefined) => {
    if (value !== undefined) opts[key] = value;
  };
  set("port", integer("port", values.port ?? env.SORACOM_SIMULATOR_PORT));
  set("host", values.host);
  set("authKeyId", values["auth-key-id"] ?? env.SORACOM_SIMULATOR_AUTH_KEY_ID);
  set("authKey", values["auth-key"] ?? env.SORACOM_SIMULATOR_AUTH_KEY);
  set("operatorId", values["operator-id"]);
  set("stateFile", values["state-file"]);
  set("confirmDelayMs", integer("confirm-delay-ms", values["confirm-delay-ms"]));
  set("inProgressDelayMs", integer("in-progress-delay-ms", values["in-progress-delay-ms"]));
  set("maxProfilesPerOrder", integer("max-profiles-per-order", values["max-profiles-per-order"]));
  set("listVisibilityDelayMs", integer("list-visibility-delay-ms", values["list-visibility-delay-ms"]));
  set("searchVisibilityDelayMs", integer("search-visibility-delay-ms", values["search-visibility-delay-ms"]));
  set("rateLimitPerMinute", integer("rate-limit-per-minute", values["rate-limit-per-minute"]));
  set("latencyMs", integer("latency-ms", values["latency-ms"]));
  set("tokenTimeoutSeconds", integer("token-timeout-seconds", values["token-timeout-seconds"]));
  if (values.clock !== undefined && values.clock !== "wall" && values.clock !== "manual") {
    throw new UsageError(`--clock must be wall or manual, got '${values.clock}'`);
  }
  set("clock", values.clock as "wall" | "manual" | undefined);
  if (values["log-level"]) opts.logger = createLogger({ name: "soracom-simulator", level: values["log-level"] });
  return opts;
}

/** main runs the simulator and resolves with the exit code once a signal has stopped it. */
export async function main(argv: string[]): Promise<number> {
  let opts: SimulatorOptions | "help";
  try {
    opts = optionsFromArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`soracom-esim-simulator: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const logger = opts.logger ?? createLogger({ name: "soracom-simulator" });
  const sim = await startSimulator({ ...opts, logger });
  logger.info({ url: sim.url, stateFile: opts.stateFile }, "soracom simulator listening");
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      logger.info({ signal }, "soracom simulator stopping");
      sim.close().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, "soracom simulator could not save its state");
          resolve(1);
        },
      );
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
