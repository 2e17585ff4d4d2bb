/**
 * The one configuration style of every command: a declarative table of settings, each with a
 * flag, usually an env variable, a kind, a default and a help line; read once from argv and env,
 * converted and range-checked with readable one-line errors, then frozen by the command.
 *
 * Invariants:
 * - Pure: argv and env come in as arguments; nothing here reads `process`, a clock or a file.
 * - Precedence: flag > env > default. A flag given with an empty value (`--port=`) means "unset"
 *   and does not fall back to the env; a value that is empty after trimming counts as unset.
 * - argv is `--name value` or `--name=value`; an unknown flag, a flag without a value, or a
 *   positional argument the command does not take is an error. `--help`/`-h` anywhere asks for
 *   help (callers check `asksForHelp` first).
 * - Durations are Go-style (`500ms`, `15s`, `1m30s`, `2h`, `0`) stored in whole ms; a setting
 *   with `bareMs` also takes a plain integer as ms (the sidecar's `*_MS` env names).
 * - Integers are decimal digits only. Every error is a VoError VO_CONFIG_INVALID naming the flag
 *   or env variable that supplied the offending value.
 * Cross-setting rules (ports that must differ, Lease timings) belong to the command's own check.
 */
import { VoError } from '../core/errors.ts';

interface Common {
  /** Flag name without the leading `--`. */
  flag: string;
  /** Env variable read when the flag is absent; none for flag-only settings. */
  env?: string;
  help: string;
  /** Shown in usage instead of `default` when the default is computed elsewhere. */
  defaultText?: string;
}
export interface TextSetting extends Common {
  kind: 'text';
  default?: string;
  oneOf?: readonly string[];
}
export interface IntSetting extends Common {
  kind: 'int';
  default?: number;
  min: number;
  max: number;
}
export interface DurationSetting extends Common {
  kind: 'duration';
  /** ms */
  default?: number;
  /** Inclusive bounds, ms. */
  min?: number;
  max?: number;
  /** A plain integer means ms (besides Go durations). */
  bareMs?: boolean;
}
/** Comma-separated; items trimmed, empty items dropped; unset is the empty list. */
export interface ListSetting extends Common {
  kind: 'list';
}
export type Setting = TextSetting | IntSetting | DurationSetting | ListSetting;
export type SettingTable = Readonly<Record<string, Setting>>;

type ValueOf<S> = S extends ListSetting ? readonly string[] : S extends TextSetting ? string : number;
/** What a table reads to: a value for every setting with a default (and every list), else maybe undefined. */
export type Settings<T extends SettingTable> = {
  readonly [K in keyof T]: T[K] extends ListSetting | { default: unknown } ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
};

/** pino's levels: the `--log-level` of every command. */
export const LOG_LEVELS: readonly string[] = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** The `--log-level` row every command shares. */
export const LOG_LEVEL_SETTING = {
  kind: 'text',
  flag: 'log-level',
  env: 'VERSION_OBSERVER_LOG_LEVEL',
  help: `pino level: ${LOG_LEVELS.join('|')}; logs are JSON lines on stdout`,
  default: 'info',
  oneOf: LOG_LEVELS,
} as const satisfies TextSetting;

const UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Parses a Go-style duration ("1m30s", "500ms", "1.5s", "0") into whole ms; throws on anything else. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const term = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = term.exec(t)) !== null) {
    total += Number(m[1]) * UNITS_MS[m[2] as keyof typeof UNITS_MS];
    matched = term.lastIndex;
  }
  if (matched === 0 || matched !== t.length) throw new Error(`"${text}" is not a duration (e.g. 500ms, 15s, 2m, 1m30s)`);
  return Math.round(total);
}

/** The shortest Go-style spelling of whole ms (90000 → "1m30s"), for usage and errors. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

export function asksForHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function invalidConfig(detail: string): VoError {
  return new VoError('VO_CONFIG_INVALID', detail);
}

/** `--name value` / `--name=value` pairs by flag name, plus the positional arguments. */
function splitArgv(table: SettingTable, argv: readonly string[]): { given: Map<string, string>; positionals: string[] } {
  const known = new Set(Object.values(table).map((s) => s.flag));
  const given = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg : arg.slice(0, eq)).replace(/^--?/, '');
    if (!arg.startsWith('--') || !known.has(name)) throw invalidConfig(`unknown flag ${eq === -1 ? arg : arg.slice(0, eq)} (see --help)`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw invalidConfig(`--${name} needs a value`);
    given.set(name, value);
  }
  return { given, positionals };
}

function convert(s: Setting, label: string, raw: string): string | number | readonly string[] {
  switch (s.kind) {
    case 'text':
      if (s.oneOf && !s.oneOf.includes(raw)) throw invalidConfig(`${label} must be one of ${s.oneOf.join(', ')}, got "${raw}"`);
      return raw;
    case 'list':
      return Object.freeze(raw.split(',').map((item) => item.trim()).filter(Boolean));
    case 'int': {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < s.min || n > s.max) {
        throw invalidConfig(`${label} must be an integer in [${s.min}, ${s.max}], got "${raw}"`);
      }
      return n;
    }
    case 'duration': {
      let ms: number;
      if (s.bareMs && /^\d+$/.test(raw)) ms = Number(raw);
      else {
        try {
          ms = parseDuration(raw);
        } catch {
          const bare = s.bareMs ? ' or whole milliseconds' : '';
          throw invalidConfig(`${label} must be a duration like 500ms, 10s or 1m30s${bare}, got "${raw}"`);
        }
      }
      if ((s.min !== undefined && ms < s.min) || (s.max !== undefined && ms > s.max) || !Number.isSafeInteger(ms)) {
        throw invalidConfig(`${label} must be between ${formatDuration(s.min ?? 0)} and ${formatDuration(s.max ?? Number.MAX_SAFE_INTEGER)}, got "${raw}"`);
      }
      return ms;
    }
  }
}

/**
 * Reads every setting of `table` from argv and env (flag > env > default). `positionals` is how
 * many bare arguments the command takes (default none). Throws VoError VO_CONFIG_INVALID.
 */
export function readSettings<T extends SettingTable>(
  table: T,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  opts: { positionals?: number } = {},
): { values: Settings<T>; positionals: readonly string[] } {
  const { given, positionals } = splitArgv(table, argv);
  const extra = positionals[opts.positionals ?? 0];
  if (extra !== undefined) throw invalidConfig(`unexpected argument "${extra}"`);
  const values: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(table)) {
    const fromFlag = given.has(s.flag);
    const raw = (fromFlag ? given.get(s.flag) : s.env === undefined ? undefined : env[s.env])?.trim();
    const label = fromFlag || s.env === undefined ? `--${s.flag}` : s.env;
    if (raw === undefined || raw === '') values[key] = s.kind === 'list' ? Object.freeze([]) : s.default;
    else values[key] = convert(s, label, raw);
  }
  return { values: values as Settings<T>, positionals };
}

function defaultShown(s: Setting): string | undefined {
  if (s.defaultText !== undefined) return s.defaultText;
  if (s.kind === 'duration' && s.default !== undefined) return formatDuration(s.default);
  return s.kind === 'list' || s.default === undefined ? undefined : String(s.default);
}

/** The `--help` text of a command: one line per setting, in table order. */
export function usageText(command: string, table: SettingTable, synopsis = '[flags]'): string {
  const width = Math.max(...Object.values(table).map((s) => s.flag.length)) + 4;
  const rows = Object.values(table).map((s) => {
    const dflt = defaultShown(s);
    const env = s.env === undefined ? '' : `  [$${s.env}]`;
    return `  --${s.flag.padEnd(width)}${s.help}${dflt === undefined ? '' : ` (default ${dflt})`}${env}`;
  });
  const precedence = Object.values(table).some((s) => s.env !== undefined) ? ' (a flag wins over its env variable, both over the default)' : '';
  return `usage: version-observer ${command} ${synopsis}\n\nflags${precedence}:\n${rows.join('\n')}`;
}
