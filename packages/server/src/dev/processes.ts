// Real `serve` processes: spawned with this process's Node and loader flags (tsx), output to a log
// file each, stopped with SIGTERM (graceful) and SIGKILL after a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { httpCall } from '../peer/http-request.ts';

export const CLI_PATH = fileURLToPath(new URL('../cli/adrestia-pki.ts', import.meta.url));

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

/** `--import tsx` (or whatever loader runs us), so children run the TypeScript sources too. */
function loaderArgs(): string[] {
  const args = process.execArgv.filter((a) => a.startsWith('--import') || a === 'tsx' || a.startsWith('--loader'));
  return args.length > 0 ? args : ['--import', 'tsx'];
}

export async function stopProcess(p: NodeProcess, deadlineMs: number): Promise<void> {
  const child = p.child;
  if (child === null || child.exitCode !== null) return;
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
