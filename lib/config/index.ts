/**
 * Configuration: every setting is declared once, with its type, default, bounds and a line of
 * documentation, and read from (lowest to highest precedence) defaults, a JSON/YAML file
 * (`--config path`), environment variables (`MAGNETAR_<SERVICE>_<NAME>`), and command-line flags
 * (`--name value` / `--name=value`). Units are part of the names (`journalGroupWaitMs`).
 * An out-of-bounds or malformed value is a startup error naming the setting, never a silent clamp.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export type SettingType = 'int' | 'number' | 'string' | 'bool' | 'list';

interface BaseSetting {
  readonly doc: string;
}
export interface IntSetting extends BaseSetting {
  readonly type: 'int';
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
}
export interface NumberSetting extends BaseSetting {
  readonly type: 'number';
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
}
export interface StringSetting extends BaseSetting {
  readonly type: 'string';
  readonly default: string;
  readonly choices?: readonly string[];
}
export interface BoolSetting extends BaseSetting {
  readonly type: 'bool';
  readonly default: boolean;
}
export interface ListSetting extends BaseSetting {
  readonly type: 'list';
  readonly default: readonly string[];
}
export type Setting = IntSetting | NumberSetting | StringSetting | BoolSetting | ListSetting;
export type ConfigSpec = Record<string, Setting>;

type ValueOf<S extends Setting> = S extends IntSetting | NumberSetting
  ? number
  : S extends BoolSetting
    ? boolean
    : S extends ListSetting
      ? string[]
      : string;
export type ConfigOf<S extends ConfigSpec> = { -readonly [K in keyof S]: ValueOf<S[K]> };

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Command-line arguments (without node and script). */
  argv?: readonly string[];
  env?: Record<string, string | undefined>;
  /** Values that override the defaults but not file/env/flags (e.g. from standalone mode). */
  base?: Record<string, unknown>;
  /** Values that override everything (tests). */
  overrides?: Record<string, unknown>;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const envName = (service: string, name: string) =>
  `MAGNETAR_${service.toUpperCase()}_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** Parse and validate a configuration for `service` from its spec. */
export function loadConfig<S extends ConfigSpec>(
  service: string,
  spec: S,
  opts: LoadOptions = {},
): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(spec))
    out[name] = Array.isArray(s.default) ? [...s.default] : s.default;
  const layers: [string, Record<string, unknown>][] = [];
  if (opts.base) layers.push(['base', opts.base]);
  const flags = parseFlags(opts.argv ?? []);
  const file = flags.config ?? opts.env?.[`MAGNETAR_${service.toUpperCase()}_CONFIG`];
  if (file !== undefined) layers.push([`file ${file}`, readConfigFile(String(file))]);
  if (opts.env) {
    const env: Record<string, unknown> = {};
    for (const name of Object.keys(spec)) {
      const v = opts.env[envName(service, name)];
      if (v !== undefined) env[name] = v;
    }
    layers.push(['environment', env]);
  }
  delete flags.config;
  layers.push(['flags', flags]);
  if (opts.overrides) layers.push(['overrides', opts.overrides]);
  for (const [source, layer] of layers) {
    for (const [rawName, raw] of Object.entries(layer)) {
      const name = rawName.includes('-')
        ? rawName.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
        : rawName;
      const s = spec[name];
      if (!s) throw new ConfigError(`unknown ${service} setting "${rawName}" (from ${source})`);
      out[name] = coerce(name, s, raw, source);
    }
  }
  return out as ConfigOf<S>;
}

function parseFlags(argv: readonly string[]): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      flags[arg.slice(2)] = argv[++i];
    } else {
      flags[arg.slice(2)] = 'true';
    }
  }
  return flags;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  const parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold an object of settings`);
  }
  return parsed as Record<string, unknown>;
}

function coerce(name: string, s: Setting, raw: unknown, source: string): unknown {
  const bad = (why: string) =>
    new ConfigError(`setting ${name} (from ${source}): ${why}; got ${JSON.stringify(raw)}`);
  switch (s.type) {
    case 'int':
    case 'number': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && raw.trim() !== ''
            ? Number(raw)
            : Number.NaN;
      if (!Number.isFinite(n)) throw bad('not a number');
      if (s.type === 'int' && !Number.isInteger(n)) throw bad('not an integer');
      if (s.min !== undefined && n < s.min) throw bad(`below the minimum ${s.min}`);
      if (s.max !== undefined && n > s.max) throw bad(`above the maximum ${s.max}`);
      return n;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw bad('not a boolean (true/false)');
    case 'list':
      if (Array.isArray(raw)) return raw.map(String);
      if (typeof raw === 'string') return raw === '' ? [] : raw.split(',').map((x) => x.trim());
      throw bad('not a list');
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') throw bad('not a string');
      const v = String(raw);
      if (s.choices && !s.choices.includes(v)) throw bad(`not one of ${s.choices.join(', ')}`);
      return v;
    }
  }
}

/** Markdown table documenting a spec (used for the README's configuration reference). */
export function describeConfig(service: string, spec: ConfigSpec): string {
  const rows = Object.entries(spec).map(([name, s]) => {
    const bounds =
      s.type === 'int' || s.type === 'number'
        ? `${s.min ?? '-∞'} … ${s.max ?? '∞'}`
        : s.type === 'string' && s.choices
          ? s.choices.join(' \\| ')
          : '';
    const def = Array.isArray(s.default) ? s.default.join(',') : String(s.default);
    return `| \`--${kebab(name)}\` | \`${envName(service, name)}\` | \`${def}\` | ${bounds} | ${s.doc} |`;
  });
  return ['| flag | environment | default | bounds | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
