// `exec` mode: run the operator's command the way keepalived runs a notify script,
// `<command…> <vip> <iface> MASTER` on acquire and `… BACKUP` on release, so existing
// keepalived notify scripts (ip addr add/del + arping) work unchanged. The command is spawned
// without a shell: arguments are passed as an argv array and never interpreted.
import { spawn } from 'node:child_process';
import { ServerError } from '../errors.ts';
import { checkVip, type Vip, type VipHook } from './hook.ts';

export interface ExecVipHookOptions {
  /** argv of the notify command, e.g. `['/usr/local/sbin/adrestia-vip']`. */
  command: readonly string[];
  /** Interface used when the VIP does not name one. */
  defaultInterface?: string;
  /** The command is killed (SIGTERM, then SIGKILL) after this. */
  timeoutMs: number;
  /** Environment for the command; the default is only PATH (no secrets inherited). */
  env?: NodeJS.ProcessEnv;
}

/** Bytes of the command's stderr kept for the error message. */
const STDERR_MAX_BYTES = 2048;
const KILL_GRACE_MS = 1000;

export class ExecVipHook implements VipHook {
  readonly mode = 'exec' as const;
  private readonly options: ExecVipHookOptions;

  constructor(options: ExecVipHookOptions) {
    if (options.command.length === 0 || options.command[0] === '') throw new TypeError('exec VIP hook needs a command');
    if (!(options.timeoutMs > 0)) throw new TypeError('exec VIP hook needs a positive timeoutMs');
    this.options = options;
  }

  acquire(vip: Vip): Promise<void> {
    return this.run(vip, 'MASTER');
  }

  release(vip: Vip): Promise<void> {
    return this.run(vip, 'BACKUP');
  }

  private async run(vip: Vip, state: 'MASTER' | 'BACKUP'): Promise<void> {
    const iface = vip.interface ?? this.options.defaultInterface;
    checkVip({ address: vip.address, ...(iface === undefined ? {} : { interface: iface }) });
    const [file, ...fixed] = this.options.command as [string, ...string[]];
    const args = [...fixed, vip.address, iface ?? '-', state];
    await runCommand(file, args, this.options);
  }
}

function runCommand(file: string, args: string[], options: ExecVipHookOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      shell: false,
      // Its own process group, so a timeout kills the whole script (e.g. a hanging `arping`
      // child), not just the shell that started it.
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: options.env ?? { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_MAX_BYTES) stderr += chunk.toString('utf8').slice(0, STDERR_MAX_BYTES - stderr.length);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new ServerError('ERR_VIP_HOOK_SPAWN', `cannot run VIP hook ${file}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new ServerError('ERR_VIP_HOOK_TIMEOUT', `VIP hook ${file} timed out after ${options.timeoutMs} ms`));
      } else if (code !== 0) {
        const how = code === null ? `signal ${signal ?? '?'}` : `exit code ${code}`;
        reject(new ServerError('ERR_VIP_HOOK_FAILED', `VIP hook ${file} failed (${how}): ${stderr.trim()}`));
      } else {
        resolve();
      }
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
