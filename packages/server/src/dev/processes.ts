// Real `serve` processes: spawned with this process's Node (running the TypeScript sources through
// tsx in the workspace, or the built JavaScript of an installed package), output to a log file
// each, stopped with SIGTERM (graceful) and SIGKILL after a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { httpCall } from '../peer/http-request.ts';

/** This module runs from `src/` (TypeScript, workspace) or from `dist/` (built JavaScript). */
const RUNS_SOURCES = import.meta.url.endsWith('.ts');

export const CLI_PATH = fileURLToPath(new URL(RUNS_SOURCES ? '../cli/adrestia-pki.ts' : '../cli/adrestia-pki.js', import.meta.url));

export interface NodeProcess {
  name: string;
  host: string;
  configPath: string;
  logPath: string;
  child: ChildProcess | null;
  /** `--init` for the node that founds the cluster. */
  init: boolean;
}

export function spawnServe(p: NodeProcess, onExit: (p: NodeProcess, code: number | null, signal: string | null) => void): void {
  const fd = openSync(p.logPath, 'a');
  const child = spawn(process.execPath, [...loaderArgs(), CLI_PATH, 'serve', '--config', p.configPath, ...(p.init ? ['--init'] : [])], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  p.child = child;
  child.once('exit', (code, signal) => {
    if (p.child === child) p.child = null;
    onExit(p, code, signal);
  });
}

/**
 * From the sources, children run them as the workspace does: tsx, and the `source` export condition
 * so imports of the sibling packages resolve to their `src/` (each package.json `exports`). The built
 * JavaScript needs no flags.
 */
export function loaderArgs(): string[] {
  return RUNS_SOURCES ? ['--conditions=source', '--import', 'tsx'] : [];
}

export async function stopProcess(p: NodeProcess, deadlineMs: number): Promise<void> {
  const child = p.child;
  // A child ended by a signal (kill -9) has no exit code, only a signal code: it has exited too.
  if (child === null || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  await exited;
  clearTimeout(timer);
}

/** Polls `/readyz` on the node's own address until it answers 200. */
export async function waitReady(host: string, port: number, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    try {
      const r = await httpCall(`http://${host}:${port}/readyz`, { timeoutMs: 1_000, maxResponseBytes: 4096 });
      if (r.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}
