/**
 * CPU time of a process, its threads and its descendants, read from /proc
 * (Linux). utime + stime in clock ticks (USER_HZ, 100 on Linux), as ms.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(path: string): string[] | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null; // the process or thread has gone
  }
  const close = text.lastIndexOf(')');
  return text.slice(close + 2).split(' ');
}

/** utime + stime of one /proc stat file in ms (fields 14 and 15; index 11 and 12 after the name). */
function cpuMsOf(path: string): number {
  const f = statFields(path);
  return f ? (Number(f[11]) + Number(f[12])) * TICK_MS : 0;
}

function commOf(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** The pid and every live descendant of it. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(`/proc/${name}/stat`);
    if (!f) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU ms used so far by the process (all its threads) and its live descendants. */
export function treeCpuMs(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + cpuMsOf(`/proc/${p}/stat`), 0);
}

export interface ThreadCpu {
  tid: number;
  name: string;
  cpuMs: number;
}

/** CPU ms per thread of one process, with the thread's name (/proc/<pid>/task/<tid>/comm). */
export function threadCpuMs(pid: number): ThreadCpu[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.map((t) => ({ tid: Number(t), name: commOf(`/proc/${pid}/task/${t}/comm`), cpuMs: cpuMsOf(`/proc/${pid}/task/${t}/stat`) }));
}
