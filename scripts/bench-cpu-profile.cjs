// Loaded into benchmarked node processes with `NODE_OPTIONS=--require <this file>` (Node refuses
// `--cpu-prof` in NODE_OPTIONS). SIGUSR2 starts a V8 CPU profile; the next SIGUSR2 stops it and
// writes `<BENCH_CPU_PROF_DIR>/<pid>-<n>.cpuprofile` (Chrome DevTools format), so a benchmark
// profiles exactly the window it measures and not the start-up.
'use strict';
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.BENCH_CPU_PROF_DIR;
if (!dir) throw new TypeError('bench-cpu-profile.cjs: set BENCH_CPU_PROF_DIR to the output directory');

const session = new Session();
session.connect();
let running = false;
let written = 0;

process.on('SIGUSR2', () => {
  if (!running) {
    session.post('Profiler.enable', () => session.post('Profiler.start'));
    running = true;
    return;
  }
  running = false;
  session.post('Profiler.stop', (error, result) => {
    if (error) {
      process.stderr.write(`bench-cpu-profile: ${error.message}\n`);
      return;
    }
    writeFileSync(join(dir, `${process.pid}-${++written}.cpuprofile`), JSON.stringify(result.profile));
  });
});
