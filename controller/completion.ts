/**
 * Shell completion scripts for a binary with subcommands and flags (`kubectl-esim`, `soracom-esim-operator`):
 * static word lists, which is all either needs. `<binary> completion bash|zsh|fish` prints one.
 */

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** CompletionSpec: the commands, and the flags each takes (global flags are listed once). */
export interface CompletionSpec {
  program: string;
  commands: ReadonlyArray<{ name: string; summary: string; flags: readonly string[] }>;
  globalFlags: readonly string[];
}

const fnName = (program: string) => `_${program.replace(/[^A-Za-z0-9]/g, "_")}`;

function bash(spec: CompletionSpec): string {
  const fn = fnName(spec.program);
  const cases = spec.commands
    .map((c) => `    ${c.name}) words="${[...c.flags, ...spec.globalFlags].join(" ")}" ;;`)
    .join("\n");
  return `# bash completion for ${spec.program}: source <(${spec.program} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="" w words commands="${spec.commands.map((c) => c.name).join(" ")}"
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case " $commands " in *" $w "*) cmd="$w"; break ;; esac
  done
  case "$cmd" in
${cases}
    *) words="$commands ${spec.globalFlags.join(" ")}" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F ${fn} ${spec.program}
`;
}

function zsh(spec: CompletionSpec): string {
  const fn = fnName(spec.program);
  const commands = spec.commands.map((c) => `    '${c.name}:${c.summary.replaceAll("'", "'\\''")}'`).join("\n");
  const cases = spec.commands
    .map((c) => `    ${c.name}) compadd -- ${[...c.flags, ...spec.globalFlags].join(" ")} ;;`)
    .join("\n");
  return `#compdef ${spec.program}
# zsh completion for ${spec.program}: source <(${spec.program} completion zsh)
${fn}() {
  local -a commands
  commands=(
${commands}
  )
  if (( CURRENT == 2 )); then _describe 'command' commands; return; fi
  case "\${words[2]}" in
${cases}
  esac
}
compdef ${fn} ${spec.program}
`;
}

function fish(spec: CompletionSpec): string {
  const p = spec.program;
  const names = spec.commands.map((c) => c.name).join(" ");
  const lines = spec.commands.map(
    (c) =>
      `complete -c ${p} -f -n "not __fish_seen_subcommand_from ${names}" -a ${c.name} -d '${c.summary.replaceAll("'", "\\'")}'`,
  );
  for (const c of spec.commands) {
    for (const flag of c.flags) {
      lines.push(`complete -c ${p} -f -n "__fish_seen_subcommand_from ${c.name}" -l ${flag.replace(/^--/, "")}`);
    }
  }
  for (const flag of spec.globalFlags) lines.push(`complete -c ${p} -f -l ${flag.replace(/^--/, "")}`);
  return `# fish completion for ${p}: ${p} completion fish | source\n${lines.join("\n")}\n`;
}

/** completionScript is the script for one shell. */
export function completionScript(shell: Shell, spec: CompletionSpec): string {
  return shell === "bash" ? bash(spec) : shell === "zsh" ? zsh(spec) : fish(spec);
}

/** isShell narrows a word a person typed. */
export function isShell(word: string | undefined): word is Shell {
  return (SHELLS as readonly string[]).includes(word ?? "");
}
