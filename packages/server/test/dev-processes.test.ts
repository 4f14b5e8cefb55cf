// stopProcess (dev/processes.ts) on real child processes: a running child is stopped with SIGTERM;
// one that already ended, by exit or by kill -9, returns at once instead of waiting for an
// `exit` event that was emitted before the call.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect } from 'chai';
import { stopProcess, type NodeProcess } from '../src/dev/processes.ts';

function sleeper(): NodeProcess {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  return { name: 'sleeper', host: '127.0.0.1', configPath: '', logPath: '', child, init: false };
}

describe('dev cluster processes: stopProcess', function () {
  this.timeout(20_000);

  it('stops a running child with SIGTERM', async () => {
    const p = sleeper();
    await stopProcess(p, 5_000);
    expect(p.child?.signalCode).to.equal('SIGTERM');
  });

  it('returns at once for a child already killed with SIGKILL', async () => {
    const p = sleeper();
    p.child?.kill('SIGKILL');
    await once(p.child!, 'exit');
    // Before the fix this awaited an `exit` already emitted: the test's timeout ended it.
    await stopProcess(p, 5_000);
    expect(p.child?.signalCode).to.equal('SIGKILL');
  });
});
