/**
 * A small Dockerfile reader for the image's invariant tests: instructions as Docker sees them (continuation
 * lines joined the way the builder joins them, comment lines dropped), grouped into stages, with global ARG
 * defaults substituted in FROM. Enough for this repository's Dockerfile; not a general parser.
 */

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  name: string | undefined;
  /** The FROM image after ARG substitution: an image reference or an earlier stage's name. */
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  let current: { start: number; parts: string[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const trimmed = raw.trim();
    // The builder drops comment lines, even between the lines of one instruction.
    if (trimmed.startsWith('#')) continue;
    if (!current && trimmed === '') continue;
    const continues = /\\\s*$/.test(raw);
    const body = continues ? raw.replace(/\\\s*$/, '') : raw;
    if (!current) current = { start: i + 1, parts: [] };
    current.parts.push(body);
    if (continues) continue;
    const joined = current.parts.join('').trim();
    const m = /^(\S+)\s*([\s\S]*)$/.exec(joined)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!, line: current.start });
    current = undefined;
  }
  return out;
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of parseInstructions(text)) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      const base = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, a: string | undefined, b: string | undefined) => globalArgs[(a ?? b)!] ?? '');
      stages.push({ name: m[2], base, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') {
        const [name, value] = ins.args.split('=', 2) as [string, string | undefined];
        globalArgs[name.trim()] = value?.trim() ?? '';
      }
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** The stage a `FROM <name>` or `COPY --from=<name>` refers to, if it is a stage of this file. */
export function stageNamed(file: Dockerfile, name: string): Stage | undefined {
  return file.stages.find((s) => s.name === name);
}

/** A stage's instructions after those of every stage it is built FROM (what its filesystem went through). */
export function effectiveInstructions(file: Dockerfile, stage: Stage): Instruction[] {
  const parent = stageNamed(file, stage.base);
  return [...(parent ? effectiveInstructions(file, parent) : []), ...stage.instructions];
}

/** The image a stage ends up on: its own base or, through stage names, the first stage's. */
export function baseImage(file: Dockerfile, stage: Stage): string {
  const parent = stageNamed(file, stage.base);
  return parent ? baseImage(file, parent) : stage.base;
}

/** `KEY=value KEY2="value 2"` (ENV, ARG) → an object. */
export function keyValues(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) out[m[1]!] = m[3] ?? m[2]!;
  return out;
}

/** Flags of COPY/ADD/HEALTHCHECK (`--from=build`, `--interval=30s`) and what follows them. */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  for (let m = /^--([\w-]+)=(\S+)\s+/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    flags[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** A JSON (exec-form) argument list, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  const trimmed = args.trim();
  if (!trimmed.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(trimmed);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error(`not a JSON string list: ${args}`);
  return parsed;
}

/** Sources and destination of a COPY (shell or JSON form). */
export function copyPaths(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const { flags, rest } = splitFlags(args);
  const parts = execForm(rest) ?? rest.split(/\s+/);
  return { from: flags.from, sources: parts.slice(0, -1), dest: parts.at(-1)! };
}
