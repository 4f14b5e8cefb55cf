// ADRESTIA_<PATH> environment overrides: `http.port` ← ADRESTIA_HTTP_PORT, `raft.tickMs` ←
// ADRESTIA_RAFT_TICK_MS, `azs` ← ADRESTIA_AZS (JSON). The variable names come from the schema, so
// every field is overridable and a typo'd variable is never silently half-applied.
import type { Spec } from './spec.ts';
import { joinPath } from './spec.ts';

const ENV_PREFIX = 'ADRESTIA_';

export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

export interface EnvOverride {
  /** Field path, e.g. `raft.tickMs`. */
  path: string;
  variable: string;
}

/**
 * Applies overrides onto a copy of `raw`. Returns the merged object and the overrides applied,
 * so validation issues can name the variable that supplied a bad value.
 */
export function applyEnvOverrides(
  raw: Record<string, unknown>,
  spec: Spec<unknown>,
  env: NodeJS.ProcessEnv,
): { merged: Record<string, unknown>; applied: EnvOverride[] } {
  const merged = structuredClone(raw);
  const applied: EnvOverride[] = [];
  walk(merged, spec, [], env, applied);
  return { merged, applied };
}

function walk(target: Record<string, unknown>, spec: Spec<unknown>, path: string[], env: NodeJS.ProcessEnv, applied: EnvOverride[]): void {
  for (const [key, field] of Object.entries(spec.fields ?? {})) {
    const fieldPath = [...path, key];
    const variable = envName(fieldPath);
    const value = env[variable];
    if (value !== undefined) {
      target[key] = field.fromEnv(value);
      applied.push({ path: fieldPath.reduce<string>((p, k) => joinPath(p, k), ''), variable });
      continue;
    }
    if (field.kind === 'object') {
      const child = target[key];
      const sub = typeof child === 'object' && child !== null && !Array.isArray(child) ? (child as Record<string, unknown>) : {};
      walk(sub, field, fieldPath, env, applied);
      if (Object.keys(sub).length > 0) target[key] = sub;
    }
  }
}
