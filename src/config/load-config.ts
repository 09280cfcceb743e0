import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { SidebandError } from '../errors/sideband-error.ts';
import { configSchema, environmentSettings, renamedSettings, type Config } from './schema.ts';

type Json = Record<string, unknown>;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1]!] = value;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const name = issue.path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') return `unknown setting ${issue.keys.map((k) => [...issue.path, k].join('.')).join(', ')}`;
  if (issue.code === 'invalid_value') return `${name} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${name}: ${issue.message}`;
}

export interface LoadConfigOptions {
  /** JSON file; SIDEBAND_CONFIG names one when this is absent. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line overrides, applied last. */
  overrides?: Json;
}

/**
 * Reads the file, then SIDEBAND_* variables, then command-line overrides; validates the
 * result once against the schema and freezes it. Every message names the setting.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.SIDEBAND_CONFIG;
  let raw: Json = {};
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Json;
    } catch (e) {
      throw new SidebandError('CONFIG_FILE_UNREADABLE', `Cannot read config file ${file}: ${(e as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SidebandError('CONFIG_FILE_UNREADABLE', `Config file ${file} must hold a JSON object.`);
  }
  for (const [old, replacement] of Object.entries(renamedSettings)) {
    if (old in raw) throw new SidebandError('CONFIG_RENAMED', `Setting ${old} was renamed: use ${replacement}.`, { param: old });
  }
  for (const { env: name, path, type } of environmentSettings) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let parsed: unknown = value;
    if (type === 'number') {
      parsed = Number(value);
      if (!Number.isInteger(parsed)) throw new SidebandError('CONFIG_INVALID', `${name} must be a whole number, not ${JSON.stringify(value)}.`, { param: name });
    } else if (type === 'boolean') {
      if (!['true', 'false', '1', '0'].includes(value)) throw new SidebandError('CONFIG_INVALID', `${name} must be true or false, not ${JSON.stringify(value)}.`, { param: name });
      parsed = value === 'true' || value === '1';
    }
    setPath(raw, path, parsed);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) setPath(raw, key.split('.'), value);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const detail = result.error.issues.map(describeIssue).join('; ');
    throw new SidebandError('CONFIG_INVALID', `Invalid configuration${file ? ` (${file})` : ''}: ${detail}.`, { param: result.error.issues[0]?.path.join('.') });
  }
  const config = { ...result.data, dataDir: resolve(result.data.dataDir) };
  return deepFreeze(config);
}
