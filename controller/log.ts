import pino, { type Logger } from "pino";

/**
 * REDACT_PATHS lists every field that may carry a credential or an eSIM secret. pino replaces
 * them with "[redacted]" wherever they appear at these depths, so a careless `log.info({ req })`
 * cannot leak an auth key, an API token, an activation code or a matching ID.
 */
export const REDACT_PATHS = [
  "authKey",
  "authKeyId",
  "apiKey",
  "token",
  "password",
  "activationCode",
  "matchingId",
  "headers['x-soracom-api-key']",
  "headers['x-soracom-token']",
  "headers.authorization",
  "*.authKey",
  "*.authKeyId",
  "*.apiKey",
  "*.token",
  "*.password",
  "*.activationCode",
  "*.matchingId",
  "*.headers['x-soracom-api-key']",
  "*.headers['x-soracom-token']",
  "*.headers.authorization",
  "*.*.authKey",
  "*.*.apiKey",
  "*.*.token",
  "*.*.activationCode",
  "*.*.matchingId",
];

/** ACTIVATION_CODE_PATTERN finds an LPA activation code inside free text, so messages are scrubbed too. */
const ACTIVATION_CODE_PATTERN = /LPA:1\$[^\s"',;]+/g;

/** scrubSecrets removes activation codes from a free-text string (error messages, URLs). */
export function scrubSecrets(text: string): string {
  return text.replace(ACTIVATION_CODE_PATTERN, "LPA:1$[redacted]");
}

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Extra destination (a file path) that receives every line too; tests set SORACOM_ESIM_LOG_FILE. */
  file?: string;
}

/**
 * createLogger builds the one pino logger of a process: JSON lines, redaction on, messages scrubbed.
 * When SORACOM_ESIM_LOG_FILE is set every line is also appended there, so a test can read all the
 * logs of a run and prove no secret was written.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? "info";
  const file = opts.file ?? process.env.SORACOM_ESIM_LOG_FILE;
  const streams: pino.StreamEntry[] = [
    { level: level as pino.Level, stream: pino.destination({ dest: 1, sync: true }) },
  ];
  if (file)
    streams.push({ level: "trace", stream: pino.destination({ dest: file, append: true, sync: true, mkdir: true }) });
  return pino(
    {
      name: opts.name ?? "soracom-esim-operator",
      level: file ? "trace" : level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === "string" ? scrubSecrets(a) : a)) as typeof args;
          method.apply(this, scrubbed);
        },
      },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.multistream(streams),
  );
}

/** silentLogger is for code paths (and unit tests) that need a Logger but should print nothing. */
export const silentLogger: Logger = pino({ level: "silent" });
