import type { ParseArgsConfig } from "node:util";
import type { Cluster } from "./cluster.js";
import { UsageError } from "./errors.js";
import type { PluginIo } from "./io.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | undefined>;

/** GLOBAL_OPTIONS are kubectl's connection flags plus help and version; every command takes them. */
export const GLOBAL_OPTIONS = {
  namespace: { type: "string", short: "n" },
  "all-namespaces": { type: "boolean", short: "A" },
  context: { type: "string" },
  kubeconfig: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const satisfies Options;

/** Scope is where a command looks: one namespace, or all of them (-A). */
export interface Scope {
  namespace: string;
  allNamespaces: boolean;
}

/** Session is a connected cluster and the scope the flags chose. */
export interface Session extends Scope {
  cluster: Cluster;
}

/** CommandContext is what a command gets: parsed flags, the terminal, and a way to connect. */
export interface CommandContext {
  io: PluginIo;
  values: Values;
  positionals: string[];
  /** connect loads the kubeconfig (lazily, so `--help` works without one). */
  connect(): Promise<Session>;
}

/** Command is one `kubectl esim <name>` subcommand. */
export interface Command {
  name: string;
  summary: string;
  /** help is the full text of `kubectl esim <name> --help`. */
  help: string;
  options: Options;
  run(ctx: CommandContext): Promise<number>;
}

/** stringValue reads a string flag; parseArgs has already checked the type. */
export function stringValue(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** atMostOne checks a command got no more than one positional argument (ORDER, PROFILE). */
export function atMostOne(positionals: string[], what: string): string | undefined {
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one ${what}, got ${positionals.length}: ${positionals.join(" ")}`);
  }
  return positionals[0];
}

/** exactlyOne checks a command got exactly one positional argument. */
export function exactlyOne(positionals: string[], what: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0 ? `${what} is required` : `expected one ${what}, got ${positionals.length}`,
    );
  }
  return positionals[0] as string;
}

/** namedOrder reads the one EsimProfileOrder a command names (approve, ack): its name, namespace and session. */
export async function namedOrder(ctx: CommandContext) {
  const name = exactlyOne(ctx.positionals, "ORDER");
  const session = await ctx.connect();
  const namespace = oneNamespace(session, name);
  return { name, namespace, session, order: await session.cluster.getOrder(namespace, name) };
}

/** oneNamespace refuses -A where a command works on one named object, as kubectl does. */
export function oneNamespace(session: Scope, name: string): string {
  if (session.allNamespaces) {
    throw new UsageError(`"${name}" is named within one namespace: use -n NAMESPACE instead of -A`);
  }
  return session.namespace;
}
