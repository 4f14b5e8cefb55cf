// A keepalived-style notify command for the `exec` VIP hook (src/vip/exec-hook.ts) that moves no
// address but records the call: `vip-recorder.mjs <log> <node> <host> <vip> <iface> MASTER|BACKUP`
// appends `<monotonic ns> <node> <host> <vip> acquire|release` to <log>. The time is
// process.hrtime.bigint(), libuv's uv_hrtime: CLOCK_MONOTONIC on Linux, one clock for every
// process of the machine, so lines written by different nodes (and the test's own kill times)
// compare. One appendFileSync per call: a single write(2) on an O_APPEND descriptor, so lines
// from concurrent nodes never interleave. Plain Node (no tsx): a hook has to be quick.
import { appendFileSync } from 'node:fs';

const [log, node, host, vip, , state] = process.argv.slice(2);
if (log === undefined || node === undefined || host === undefined || vip === undefined || (state !== 'MASTER' && state !== 'BACKUP')) {
  process.stderr.write('usage: vip-recorder.mjs <log> <node> <host> <vip> <iface> MASTER|BACKUP\n');
  process.exit(2);
}
appendFileSync(log, `${process.hrtime.bigint()} ${node} ${host} ${vip} ${state === 'MASTER' ? 'acquire' : 'release'}\n`, { flag: 'a' });
