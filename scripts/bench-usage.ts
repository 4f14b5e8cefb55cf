// CPU time and resident memory of benchmarked processes, read from Linux's /proc (proc(5):
// /proc/<pid>/stat fields 14–15 utime and stime in clock ticks, /proc/<pid>/status VmRSS).
// On a shared machine wall-clock rates are noisy; CPU time per operation, summed over the
// processes that did the work, is the figure that compares across runs.
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux port Node runs on). */
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU time of `pid` in ms, or null when /proc is unavailable or the process is gone. */
export function processCpuMs(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is parenthesised and may contain spaces: split after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size of `pid` in MiB, or null when unavailable. */
export function processRssMiB(pid: number): number | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kib === undefined ? null : Number(kib) / 1024;
}

/** CPU ms of several processes at one moment, by name (null where unreadable). */
export function cpuSnapshot(pids: ReadonlyMap<string, number>): Map<string, number | null> {
  return new Map([...pids].map(([name, pid]) => [name, processCpuMs(pid)]));
}

/** Per-process and summed CPU ms between two snapshots; null sum when any process is unreadable. */
export function cpuDelta(before: ReadonlyMap<string, number | null>, after: ReadonlyMap<string, number | null>): { byName: Record<string, number | null>; totalMs: number | null } {
  const byName: Record<string, number | null> = {};
  let totalMs: number | null = 0;
  for (const [name, b] of before) {
    const a = after.get(name) ?? null;
    const d = a === null || b === null ? null : a - b;
    byName[name] = d;
    totalMs = d === null || totalMs === null ? null : totalMs + d;
  }
  return { byName, totalMs };
}
