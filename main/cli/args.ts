/**
 * A small, strict argument parser for the CLI: known flags only, typed values, clear USAGE errors.
 * `--flag value` and `--flag=value`; boolean flags take no value; repeated flags collect into arrays when
 * declared `multiple`.
 */
import { DelineateError } from '../common/errors';

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean';
  multiple?: boolean;
  /** Short alias without the dash, e.g. 'o'. */
  alias?: string;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | number | boolean | (string | number)[] | undefined>;
}

export function parseArgs(argv: string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const positionals: string[] = [];
  const flags: ParsedArgs['flags'] = {};
  const aliases = new Map(Object.entries(spec).flatMap(([name, s]) => (s.alias ? [[s.alias, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      const alias = aliases.get(arg.slice(1));
      if (!alias) throw new DelineateError('USAGE', `Unknown option ${arg}`, { subject: arg });
      name = alias;
    }
    const s = spec[name];
    if (!s) throw new DelineateError('USAGE', `Unknown option --${name}`, { subject: `--${name}` });
    let value: string | number | boolean;
    if (s.type === 'boolean') {
      if (inline !== undefined) throw new DelineateError('USAGE', `--${name} takes no value`, { subject: `--${name}` });
      value = true;
    } else {
      const raw = inline ?? argv[++i];
      if (raw === undefined) throw new DelineateError('USAGE', `--${name} needs a value`, { subject: `--${name}` });
      if (s.type === 'number') {
        const n = Number(raw);
        if (!Number.isFinite(n)) throw new DelineateError('USAGE', `--${name} must be a number, got '${raw}'`, { subject: `--${name}` });
        value = n;
      } else value = raw;
    }
    if (s.multiple) {
      const list = (flags[name] as (string | number)[] | undefined) ?? [];
      list.push(value as string | number);
      flags[name] = list;
    } else {
      if (flags[name] !== undefined) throw new DelineateError('USAGE', `--${name} given twice`, { subject: `--${name}` });
      flags[name] = value;
    }
  }
  return { positionals, flags };
}
