import { ACCOUNT_KIND, ANNOTATIONS } from "../controller/api/vocabulary.js";
import { type Command, exactlyOne } from "./command.js";
import { confirmWithPerson, writeAnnotation } from "./confirm.js";
import { EXIT, NotFoundError } from "./errors.js";

export const resumeCommand: Command = {
  name: "resume",
  summary: "Resume an account's paused SIM terminations (irreversible)",
  options: { yes: { type: "boolean", short: "y" }, "dry-run": { type: "boolean" } },
  help: `Resume the SIM terminations of a SoracomAccount, paused because its termination budget was used up.

Usage:
  kubectl esim resume ACCOUNT [--yes] [--dry-run]

Reads the current pause from status.budgets.termination.pauseId and sets the annotation
${ANNOTATIONS.resumeTerminations}=<pause id> on the SoracomAccount (cluster-scoped; only the
cluster admin may write it). The controller then lets another budgets.termination.limit terminations
go before they pause again. Terminating a SIM cannot be undone: first check what is being deleted
(runbook SoracomEsimTerminationsPaused).

  -y, --yes      Do not ask (needed when stdin is not a terminal).
  --dry-run      Show the pause; change nothing.

Exit codes: 0 resumed (or nothing paused), 1 error or answered no, 2 usage or no terminal without
--yes, 4 account not found.
`,
  async run(ctx) {
    const name = exactlyOne(ctx.positionals, "ACCOUNT");
    const session = await ctx.connect();
    const account = await session.cluster.getAccount(name).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
      throw new NotFoundError(
        `${err.message}: list them with kubectl get soracomaccounts. Without SoracomAccounts (the controller's own credentials), terminations resume on the termination ledger ConfigMap in the operator's namespace, as its TerminationsPaused messages say`,
      );
    });
    const t = account.status?.budgets?.termination;
    if (!t?.pauseId) {
      ctx.io.stdout(`Nothing to resume: the terminations of SoracomAccount ${name} are not paused.\n`);
      return EXIT.ok;
    }
    const limit = t.limit === undefined ? "" : ` Another ${t.limit} may go (per ${t.window ?? "window"}) before they pause again.`;
    ctx.io.stdout(
      `Terminations of SoracomAccount ${name} are paused since ${t.pausedSince ?? "(unknown)"} (pause ${t.pauseId}).${limit}\n`,
    );
    if (account.metadata.annotations?.[ANNOTATIONS.resumeTerminations] === t.pauseId) {
      ctx.io.stdout("Already resumed; the controller lifts the pause next.\n");
      return EXIT.ok;
    }
    if (ctx.values["dry-run"] === true) {
      ctx.io.stdout("Dry run: nothing changed.\n");
      return EXIT.ok;
    }
    const question = "Terminating a SIM cannot be undone. Resume terminations?";
    await confirmWithPerson(ctx.io, ctx.values.yes === true, question, "resume");
    const pauseId = t.pauseId;
    await writeAnnotation(
      session.cluster,
      ACCOUNT_KIND,
      account,
      ANNOTATIONS.resumeTerminations,
      () => pauseId,
      () => session.cluster.getAccount(name),
    );
    ctx.io.stdout(`Resumed: ${ANNOTATIONS.resumeTerminations}=${pauseId} on SoracomAccount ${name}\n`);
    return EXIT.ok;
  },
};
