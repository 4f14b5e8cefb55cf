// Runs a crash-test child (a TypeScript file under tsx) that prints one acknowledged count per
// line, and SIGKILLs it once it has printed `killAfterLines` of them.
import { spawn } from 'node:child_process';

export interface KilledChild {
  /** The last count the child printed before it died. */
  acknowledged: number;
  /** The signal that ended it (`SIGKILL` unless it ended by itself first). */
  signal: string | null;
}

export function runAndKill(script: string, args: readonly string[], killAfterLines: number): Promise<KilledChild> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acknowledged = 0;
    let lines = 0;
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        if (line === 'done') continue;
        acknowledged = Number(line);
        if (++lines === killAfterLines) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ acknowledged, signal }));
  });
}
