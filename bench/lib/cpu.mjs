// CPU accounting from Linux /proc (NaN elsewhere): a process's own CPU time, the machine's busy
// share, and the CPU time of the PostgreSQL backends serving one database (their process title,
// `postgres: <cluster>: <user> <database> <client> <state>`, names it).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep the usual 100
}

function statCpuSeconds(stat) {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime, stime
}

/** CPU seconds (user + system) used so far by process `pid`. */
export function processCpuSeconds(pid) {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return NaN;
  }
}

/** [busy, total] jiffies of the whole machine. */
export function machineJiffies() {
  try {
    const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const idle = values[3] + (values[4] || 0);
    const total = values.reduce((a, b) => a + b, 0);
    return [total - idle, total];
  } catch {
    return [NaN, NaN];
  }
}

/**
 * CPU seconds so far of each PostgreSQL backend connected to database `name` (pid → seconds),
 * found by process title. Empty when /proc is not readable or the server is elsewhere.
 */
export function databaseBackends(name) {
  const found = new Map();
  let pids;
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return found;
  }
  for (const pid of pids) {
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!title.startsWith('postgres: ') || !title.includes(` ${name} `)) continue;
      found.set(pid, statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8')));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}

/**
 * CPU seconds the backends of database `name` used since `before` (an earlier
 * databaseBackends): backends that started since count whole, ones that ended since are lost
 * (pools keep theirs open, so that is rare). NaN when no backend was seen at all.
 */
export function databaseCpuSince(name, before) {
  const now = databaseBackends(name);
  if (!now.size && !before.size) return NaN;
  let seconds = 0;
  for (const [pid, cpu] of now) seconds += cpu - (before.get(pid) ?? 0);
  return seconds;
}
