// The `adrestia-pki` binary as an operator runs it against a real cluster: a child process with
// this process's Node and loader (dev/processes.ts), its exit code and output; and a long-running
// one (`cluster restore`) whose output goes to a log file, stopped like a `serve` child.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { CLI_PATH, loaderArgs, type NodeProcess } from '../../src/dev/processes.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `adrestia-pki ARGS…` to its end (bounded by `timeoutMs`, then SIGKILL). */
export function runCli(args: readonly string[], timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...loaderArgs(), CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `adrestia-pki ARGS…` as the node process `p` (its log file, its child handle), like `spawnServe`. */
export function spawnCliNode(p: NodeProcess, args: readonly string[]): void {
  const fd = openSync(p.logPath, 'a');
  const child = spawn(process.execPath, [...loaderArgs(), CLI_PATH, ...args], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  p.child = child;
  child.once('exit', () => {
    if (p.child === child) p.child = null;
  });
}
