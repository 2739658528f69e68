import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Thrown when another live process holds the embedded data folder. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(
      `the data folder ${dataDir} is in use by process ${pid}; stop it first ` +
        `(if no Gatehouse process is running, delete ${lockFile})`,
    );
    this.name = 'DataDirInUseError';
  }
}

export const LOCK_FILE_NAME = 'gatehouse.lock';
/** Lock files this process holds, so that a lock naming our own pid can be told apart from a stale one. */
const heldLocks = new Set<string>();

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLockPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Takes `<dataDir>/gatehouse.lock` (created exclusively, holding our pid) or throws
 * DataDirInUseError when a live process holds it. A lock left by a dead process is taken
 * over; so is one naming our own pid that this process does not hold (a container restarted
 * with the same pid). Returns the release function.
 */
export async function lockDataDir(dataDir: string): Promise<() => void> {
  const file = path.join(dataDir, LOCK_FILE_NAME);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      heldLocks.add(file);
      return () => {
        if (!heldLocks.delete(file)) return;
        // Only remove the file while it is still ours.
        if (readLockPid(file) === process.pid) rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = readLockPid(file);
    if (holder === null) {
      // Empty: another process may have just created it and not yet written its pid.
      await new Promise((resolve) => setTimeout(resolve, 200));
      holder = readLockPid(file);
    }
    if (holder !== null && (holder === process.pid ? heldLocks.has(file) : processIsAlive(holder))) {
      throw new DataDirInUseError(dataDir, holder, file);
    }
    // Stale (its process is gone) or unreadable: remove it unless it changed meanwhile, and retry.
    if (readLockPid(file) === holder) rmSync(file, { force: true });
  }
  throw new Error(`could not lock the data folder ${dataDir}: ${file} keeps changing; is another Gatehouse starting?`);
}
