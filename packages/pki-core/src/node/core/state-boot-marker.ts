// When the PKI state on disk may skip fsync. The state is written once per local Raft Ready
// (pki-application.ts `flush`), after the entries it applies are already synced in the Raft log
// (node-driver.ts handleReady persists before it applies), so the state never holds more than
// the log. Its per-Ready write need not be synced for a process crash: LevelDB hands every write
// to the kernel before it returns, the page cache outlives the process, and a write cut short by
// the kill is a torn last record LevelDB drops at open, so the state reopens as "every command
// through appliedSeq" and the log replays the rest (the SIGKILL test,
// test/state-crash-node.test.ts). A crash of the machine is another matter: unsynced pages may
// reach the disk in any order, so LevelDB could recover a later batch without an earlier one,
// and replay would skip the lost one. So a node writes unsynced only while it can tell the two
// apart: before its first unsynced write it records, synced, the kernel's boot id beside the
// state; a clean close (every write synced, store.ts) removes the record. A record naming
// another boot means the machine went down with unsynced writes: the state is discarded and
// rebuilt from the local Raft snapshot and log (two-tier-node.ts restore), as a node keeping
// its state in memory does at every start. Without a boot id (not Linux) every write is synced.
import { readFile, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../fs/atomic-file.ts';

/** The Linux kernel's id of the current boot: a new random UUID at every boot (proc(5)). */
const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

export async function readBootId(): Promise<string | null> {
  try {
    const id = (await readFile(BOOT_ID_PATH, 'utf8')).trim();
    return id === '' ? null : id;
  } catch {
    return null;
  }
}

export interface StateDirClaim {
  /** Whether each per-Ready write must be synced (no boot id to tell a machine crash by). */
  readonly syncEachFlush: boolean;
  /** The state was discarded: the machine went down while it held unsynced writes. */
  readonly discarded: boolean;
  /** After a clean close (every write synced): the next start need not doubt the state. */
  release(): Promise<void>;
}

/** The file recording the boot under which the state at `stateDir` took unsynced writes. */
export function bootMarkerPath(stateDir: string): string {
  const dir = resolve(stateDir);
  return join(dirname(dir), `${basename(dir)}.unsynced-boot`);
}

/** Checks the state directory before it is opened, and records this boot for its unsynced writes. */
export async function claimStateDir(stateDir: string, bootId: () => Promise<string | null> = readBootId): Promise<StateDirClaim> {
  const marker = bootMarkerPath(stateDir);
  const recorded = await readFile(marker, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  const current = await bootId();
  const discarded = recorded !== null && recorded !== current;
  if (discarded) await rm(stateDir, { recursive: true, force: true });
  if (current === null) {
    if (recorded !== null) await unlink(marker);
    return { syncEachFlush: true, discarded, release: async () => undefined };
  }
  if (recorded !== current) await writeFileAtomic(marker, current, 0o600, 'stateDir');
  return {
    syncEachFlush: false,
    discarded,
    release: () => unlink(marker).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e))),
  };
}
