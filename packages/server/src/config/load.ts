// Loading a node's configuration: one file (JSON, YAML or TOML by extension), then
// ADRESTIA_<PATH> environment overrides, then validation (every issue with its field path),
// then secrets from files/environment, then the persisted nodeId.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { ServerError } from '../errors.ts';
import { crossFieldIssues } from './checks.ts';
import { applyEnvOverrides, envName, type EnvOverride } from './env.ts';
import { ensureNodeId } from './node-id.ts';
import { CONFIG_SPEC, type ConfigFile } from './schema.ts';
import { loadSecrets, SECRET_DEFS, type Secrets } from './secrets.ts';
import type { Issue } from './spec.ts';

type ConfigFormat = 'json' | 'yaml' | 'toml';

export interface NodeConfig extends Omit<ConfigFile, 'nodeId'> {
  nodeId: string;
  secrets: Secrets;
}

/** Invalid configuration: `issues` name each field at fault. */
export class ConfigError extends ServerError {
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[]) {
    super('ERR_CONFIG_INVALID', `invalid configuration:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`, {
      ...(issues[0] === undefined ? {} : { field: issues[0].path }),
    });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

function formatOf(path: string): ConfigFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.toml') return 'toml';
  throw new ServerError('ERR_CONFIG_INVALID', `unknown configuration format "${ext}" (use .json, .yaml, .yml or .toml)`);
}

function parseConfigText(text: string, format: ConfigFormat): Record<string, unknown> {
  let value: unknown;
  try {
    if (format === 'json') value = JSON.parse(text);
    else if (format === 'yaml') value = parseYaml(text, { maxAliasCount: 100 });
    else value = parseToml(text);
  } catch (err) {
    throw new ServerError('ERR_CONFIG_INVALID', `cannot parse ${format}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError([{ path: '(root)', message: 'the configuration must be a mapping' }]);
  }
  return value as Record<string, unknown>;
}

/** Validates a parsed file merged with the environment; throws ConfigError listing every issue. */
export function validateConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): ConfigFile {
  const issues: Issue[] = secretsInBody(raw);
  const { merged, applied } = applyEnvOverrides(withoutKeys(raw, SECRET_DEFS.map((d) => d.name)), CONFIG_SPEC, env);
  const parsed = CONFIG_SPEC.parse(merged, '', issues);
  if (parsed !== undefined) issues.push(...crossFieldIssues(parsed));
  if (issues.length > 0 || parsed === undefined) throw new ConfigError(annotate(issues, applied));
  return parsed;
}

export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<NodeConfig> {
  const format = formatOf(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ServerError('ERR_CONFIG_READ', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  const file = validateConfig(parseConfigText(text, format), env);
  const issues: Issue[] = [];
  const secrets = await loadSecrets(file, env, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  const nodeId = await ensureNodeId(file.dataDir, file.nodeId);
  return { ...file, nodeId, secrets: secrets as Secrets };
}

/** A secret written into the file body is refused, whatever its value (it may already leak). */
function secretsInBody(raw: Record<string, unknown>): Issue[] {
  return SECRET_DEFS.filter((d) => d.name in raw).map((d) => ({
    path: d.name,
    message: `secrets are never read from the configuration file; use ${d.name}File or ${envName([d.name])}`,
  }));
}

function withoutKeys(raw: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out = { ...raw };
  for (const k of keys) delete out[k];
  return out;
}

function annotate(issues: Issue[], applied: EnvOverride[]): Issue[] {
  return issues.map((issue) => {
    const source = applied.find((o) => issue.path === o.path || issue.path.startsWith(`${o.path}.`) || issue.path.startsWith(`${o.path}[`));
    return source === undefined ? issue : { ...issue, message: `${issue.message} (from ${source.variable})` };
  });
}
