/**
 * `npm run bench:profile [-- --seconds N --warmup S --participants P --talkers T]`: where
 * the CPU of a `mediabot rtp` room goes, the whole process. The room of
 * bench:peer (ffmpeg Opus/RTP senders through relays) is run three times:
 *
 *  1. plain: CPU per thread from /proc/<pid>/task/<tid>/stat over the window
 *     (the reference figures: nothing else runs in the process);
 *  2. perf (when `perf record -e cpu-clock` works): on-CPU samples of every
 *     thread, kernel included, with V8's perf map for JavaScript frames
 *     (--perf-basic-prof), sorted into categories;
 *  3. --cpu-prof: V8's profile of each thread (main and media worker), the
 *     JavaScript functions by self time.
 *
 * Threads are all named "node"; they are told apart by what they wait in: the
 * main thread is the process id, an event-loop thread other than main waits in
 * epoll_wait (the media worker), the rest (V8's platform workers for GC and
 * compilation, libuv's pool) wait on futexes.
 * Prints one JSON object on stdout and the tables in Markdown on stderr.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { threadCpuMs, type ThreadCpu } from './lib/proc-cpu.js';
import { prepareRoomMedia, runRoom, startMixer, type RoomResult } from './lib/room.js';
import { progress, round } from './lib/stats.js';
import { batchedRtpAvailable } from '../src/media/session/rtp/rtp-io.js';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    /** Seconds the room runs before each window (as bench:peer's --warmup). */
    warmup: { type: 'string', default: '10' },
    participants: { type: 'string', default: '10' },
    talkers: { type: 'string', default: '2' },
    'mediabot-arg': { type: 'string', multiple: true, default: [] },
    /** The RTP session's socket I/O: batched (default when built) or dgram. */
    'rtp-io': { type: 'string' },
  },
  strict: true,
});
const measureS = Number(args.seconds);
const rtpIo = args['rtp-io'] ?? (batchedRtpAvailable() ? 'batched' : 'dgram');
if (rtpIo !== 'batched' && rtpIo !== 'dgram') throw new Error('--rtp-io must be batched or dgram');
const participants = Number(args.participants);
const talkers = Number(args.talkers);
const WARMUP_S = Number(args.warmup);

type Role = 'main' | 'media worker' | 'helper (V8 GC/compiler, libuv pool)';

/** x86-64 and arm64 syscall numbers of epoll_wait / epoll_pwait / epoll_pwait2. */
const EPOLL_SYSCALLS = new Set(['232', '281', '441', '22']);

/** Samples what each thread is blocked in, a few times, to tell the event-loop threads from the pool threads. */
class RoleProbe {
  private readonly epoll = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;

  start(pid: number): void {
    const look = (): void => {
      let tids: string[] = [];
      try {
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        return;
      }
      for (const t of tids) {
        let sc = '';
        try {
          sc = readFileSync(`/proc/${pid}/task/${t}/syscall`, 'utf8').split(' ')[0]!;
        } catch {
          continue;
        }
        if (EPOLL_SYSCALLS.has(sc)) this.epoll.set(Number(t), (this.epoll.get(Number(t)) ?? 0) + 1);
      }
    };
    look();
    this.timer = setInterval(look, 250);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  role(pid: number, tid: number): Role {
    if (tid === pid) return 'main';
    return (this.epoll.get(tid) ?? 0) >= 2 ? 'media worker' : 'helper (V8 GC/compiler, libuv pool)';
  }
}

interface WindowedRun {
  room: RoomResult;
  seconds: number;
  pid: number;
  threads: Array<ThreadCpu & { role: Role }>;
  startUs: number;
  endUs: number;
}

const nowMonoUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** One room with per-thread CPU over the window; `during` runs alongside the window (perf record). */
async function windowedRun(nodeArgs: string[], media: Awaited<ReturnType<typeof prepareRoomMedia>>, during?: (pid: number) => Promise<void>): Promise<WindowedRun> {
  const mixer = await startMixer(rtpIo === 'batched' ? 'mediabot-batched' : 'mediabot', args['mediabot-arg'], nodeArgs);
  const probe = new RoleProbe();
  let before: ThreadCpu[] = [];
  let after: ThreadCpu[] = [];
  let startUs = 0;
  let endUs = 0;
  let t0 = 0;
  let seconds = 0;
  let side: Promise<void> | undefined;
  const room = await runRoom(mixer, media, {
    participants,
    talkers,
    warmupS: WARMUP_S,
    measureS,
    onWindowStart: (pid) => {
      probe.start(pid);
      side = during?.(pid);
      before = threadCpuMs(pid);
      startUs = nowMonoUs();
      t0 = performance.now();
    },
    onWindowEnd: async (pid) => {
      after = threadCpuMs(pid);
      endUs = nowMonoUs();
      seconds = (performance.now() - t0) / 1000;
      probe.stop();
      await side;
    },
  });
  const threads = after.map((t) => ({ ...t, cpuMs: t.cpuMs - (before.find((b) => b.tid === t.tid)?.cpuMs ?? 0), role: probe.role(mixer.pid, t.tid) }));
  return { room, seconds, pid: mixer.pid, threads, startUs, endUs };
}

function byRole(w: WindowedRun): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of w.threads) out[t.role] = round((out[t.role] ?? 0) + t.cpuMs / w.seconds, 1);
  return out;
}

// ---- categories ---------------------------------------------------------------

/** A JavaScript function's category, from its script URL. */
function jsCategory(url: string): string {
  if (/media\/(session\/)?rtp\/jitter-buffer/.test(url)) return 'JS: jitter buffer';
  if (/media\/(session\/)?rtp\/(udp-transport|rtp-io|batched-udp|packet|rtcp|sequence)|media\/wire\//.test(url)) return 'JS: RTP transport (parse, send, RTCP)';
  if (/media\/(core|codec)\/(pipeline|mixer|source|talk-detector|level|limiter|resampler|codec|opus|silence|frame|stamps|histogram)/.test(url)) return 'JS: media core (tick, mix, talk detection, codec calls)';
  if (/media\/(core|threads)\/(clock|media-thread|threads|thread-protocol|protocol)/.test(url)) return 'JS: clock and thread messaging';
  if (/media\/hooks/.test(url)) return 'JS: hooks (talk events)';
  if (/node:dgram|internal\/dgram/.test(url)) return 'JS: Node dgram (per-packet callbacks)';
  if (/node:internal\/timers|node:timers/.test(url)) return 'JS: Node timers';
  if (/^node:/.test(url)) return 'JS: Node internals (events, worker messaging, streams)';
  return 'JS: other';
}

const OPUS_SYM = /^(opus_|silk_|celt_|ec_|quant_|clt_|compute_|alg_|tonality|run_analysis|downmix|unquant_|pitch_|comb_filter|xcorr|renormalise|denormalise|spreading|haar1|deemphasis|preemph|anti_collapse|interp_bits|exp_rotation|op_pvq|encode_|decode_|tf_|transient|dynalloc|frac_div|hysteresis|stereo_|normalise|kf_|opus_fft|ec_laplace|celt_fir|celt_iir|_celt|validate_|quant_all)/;

/**
 * A kernel sample's category, by the system call (or fault, or interrupt) its
 * call chain runs under: the leaf alone misleads in a VM, where timer samples
 * land where interrupts are enabled again (finish_task_switch, unlock_irqrestore).
 */
function kernelCategory(chain: string[]): string {
  for (const f of chain) {
    // __x64_sys_epoll_pwait, __sys_sendmsg, ____sys_recvmsg: the wrappers differ by call.
    const m = /^_*(?:x64_|arm64_)?sys_([a-z0-9_]+)$/.exec(f);
    if (m) {
      const sc = m[1]!;
      if (/^send/.test(sc)) return 'kernel: UDP send (loopback stack, delivery to the peer)';
      if (/^recv/.test(sc)) return 'kernel: UDP receive';
      if (/^epoll/.test(sc)) return 'kernel: epoll wait (event-loop sleep and wake-up)';
      if (/^futex/.test(sc)) return 'kernel: futex (thread wake-ups)';
      if (/nanosleep|timerfd|clock_/.test(sc)) return 'kernel: timers and clocks';
      if (/^(read|write|pread|pwrite)/.test(sc)) return 'kernel: read/write (eventfd, pipes, files)';
      if (/mmap|munmap|madvise|mprotect|brk/.test(sc)) return 'kernel: memory (mmap, madvise)';
      return `kernel: other system calls (${sc})`;
    }
    if (/page_fault/.test(f)) return 'kernel: memory (page faults)';
  }
  if (chain.some((f) => /apic_timer|hrtimer|tick_/.test(f))) return 'kernel: timer interrupts and scheduling';
  if (chain.some((f) => /schedule|finish_task_switch/.test(f))) return 'kernel: scheduling (preemption)';
  return 'kernel: other (interrupts, softirq)';
}

/** The category of one perf sample in user space (symbol and the object it is in). */
function perfCategory(sym: string, dso: string): string {
  if (dso.includes('mediabot_native')) return OPUS_SYM.test(sym) || sym === '' ? 'libopus (decode, encode)' : 'native DSP and N-API entry (mix, resample, level)';
  if (dso.includes('opus')) return 'libopus (decode, encode)';
  if (dso.includes('perf-')) {
    if (/^JS:/.test(sym)) {
      const url = sym.replace(/^JS:[*~^+]?\S*\s*/, '');
      return jsCategory(url);
    }
    if (/Builtin:|BytecodeHandler|Bytecode|Interpreter|Stub|Handler/.test(sym)) return 'V8 builtins and interpreter (JS runtime)';
    return 'V8 builtins and interpreter (JS runtime)';
  }
  if (dso.includes('/node') || dso.includes('libnode')) {
    if (/Heap|Scaveng|Marking|MarkCompact|Sweep|Evacuat|Compactor|GC|Minor|Young|Old|Space|Remembered|SlotSet|Worklist|Marker|IncrementalMarking|ConcurrentMark|ObjectVisitor|BodyDescriptor|Visit|Weak|PagedSpace|NewSpace|LargeObject|ArrayBufferSweeper|Allocat/.test(sym)) return 'V8 garbage collection and allocation';
    if (/^uv_|^uv__/.test(sym)) return 'libuv event loop';
    if (/Compil|Parser|Parse|Turbofan|Maglev|compiler|Sparkplug|Baseline|Scanner|AstNode|Deoptimiz|Optimiz|Bytecode|Feedback|Tiering/.test(sym)) return 'V8 compiler (JIT, tiering)';
    if (/^Builtins_/.test(sym)) return 'V8 builtins and interpreter (JS runtime)';
    if (/napi|node::|v8impl|Napi|External|TypedArray|ArrayBuffer|FunctionCallback|HandleApiCall|Invoke|Execution|v8::/.test(sym)) return 'Node/V8 bindings (N-API calls, handles)';
    return 'Node/V8 other';
  }
  if (/libc\.so|libm\.so|ld-linux|libstdc/.test(dso)) return 'libc (memcpy, malloc, syscall wrappers)';
  return `other (${dso})`;
}

/**
 * What a sample was done for, from its whole call chain (V8 keeps frame
 * pointers, so a native or kernel sample is seen under the JavaScript that
 * called it). The first rule that matches wins; libopus is told by the leaf.
 */
const ACTIVITIES: Array<[string, RegExp]> = [
  ['UDP send, per packet (udp-transport → dgram → libuv → kernel, or the batched sendmmsg)', /sendmsg|sendmmsg|udp_send|JS:\S*flush \S*rtp-io|JS:\S*send \S*rtp-io|UDPWrap::DoSend|uv_udp_try_send|uv__udp_send|SendWrap|JS:\S*doSend|JS:\S*send \S*udp-transport|JS:\S*lookup4|JS:\S*afterDns|JS:\S*sliceBuffer/],
  ['UDP receive, per packet (kernel → libuv → dgram callback → parse → jitter buffer, or the batched recvmmsg)', /recvmsg|recvmmsg|udp_recv|JS:\S*poll \S*rtp-io|uv__udp_recv|uv__udp_io|UDPWrap::OnRecv|JS:\S*onMessage|JS:\S*push \S*jitter-buffer/],
  ['codec calls (N-API entry, argument checks)', /JS:\S*(encode|decode|conceal) \S*codec\.js/],
  ['native DSP (decimator, mix, level)', /fir_decimate|mix_add|level_centi|stamp_us|JS:\S*process \S*resampler/],
  ['media core JavaScript (tick, mix, talk detection, playout)', /JS:\S*\s\S*\/src\/media\//],
  ['V8 garbage collection', /Heap::|Scaveng|MarkCompact|Sweeper|Marking|GCTracer|Evacuat|MinorMS|ConcurrentMark/],
  ['V8 JIT compiler', /compiler::|Maglev|Turbofan|Pipeline::|Compile|Baseline/],
  ['event-loop sleep and wake-up (epoll)', /epoll|uv__io_poll/],
  ['timers (node:timers, libuv timers)', /node:internal\/timers|JS:\S*listOnTimeout|JS:\S*processTimers|uv__run_timers/],
  ['thread messaging (MessagePort)', /MessagePort|node:internal\/worker/],
];

function activityOf(chain: string[], leafDso: string): string {
  const leaf = chain[0] ?? '';
  // libopus is linked into the addon: any of its code but the DSP kernels.
  if (OPUS_SYM.test(leaf) || (leafDso.includes('mediabot_native') && !/fir_decimate|mix_add|level_centi|stamp_us/.test(leaf))) return 'libopus (decode, encode)';
  for (const [name, re] of ACTIVITIES) if (chain.some((f) => re.test(f))) return name;
  return 'other (runtime, libc, kernel)';
}

// ---- perf ---------------------------------------------------------------------

function perfWorks(): boolean {
  const r = spawnSync('perf', ['record', '-e', 'cpu-clock', '-o', '/dev/null', '--', 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

async function perfRecord(pid: number, file: string): Promise<void> {
  const child = spawn('perf', ['record', '-q', '-g', '-e', 'cpu-clock', '-F', '999', '-p', String(pid), '-o', file, '--', 'sleep', String(measureS)], { stdio: 'ignore' });
  await once(child, 'exit');
}

interface PerfBreakdown {
  samples: number;
  /** ms of CPU per second of the room, by what it was spent for (from call chains), whole process. */
  activities: Array<{ activity: string; cpu_ms_per_s: number; share: number }>;
  /** ms of CPU per second of the room, by category, whole process. */
  categories: Array<{ category: string; cpu_ms_per_s: number; share: number }>;
  by_role: Record<string, Array<{ category: string; cpu_ms_per_s: number }>>;
  top_symbols: Array<{ symbol: string; dso: string; category: string; cpu_ms_per_s: number }>;
}

async function perfBreakdown(file: string, w: WindowedRun): Promise<PerfBreakdown> {
  const { stdout } = await run('perf', ['script', '-i', file, '-F', 'tid,ip,sym,dso'], { maxBuffer: 1 << 28 });
  const msPerSample = 1000 / 999;
  const cats = new Map<string, number>();
  const roles = new Map<string, Map<string, number>>();
  const syms = new Map<string, number>();
  const acts = new Map<string, number>();
  const roleOf = new Map(w.threads.map((t) => [t.tid, t.role]));
  let samples = 0;
  // One block per sample: a header line with the thread id, then the call chain, leaf first.
  for (const block of stdout.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    const head = /^\s*(\d+)\s/.exec(lines[0] ?? '');
    if (!head) continue;
    const frames = lines.slice(1).map((l) => /^\s*[0-9a-f]+\s+(.*?)\s*\(([^()]*)\)\s*$/.exec(l)).filter((m) => m !== null);
    const leaf = frames[0];
    if (!leaf) continue;
    samples++;
    const tid = Number(head[1]);
    const sym = leaf[1]!.replace(/\+0x[0-9a-f]+$/, '');
    const dso = leaf[2]!;
    const cat = dso.includes('kernel') ? kernelCategory(frames.map((f) => f[1]!)) : perfCategory(sym, dso);
    cats.set(cat, (cats.get(cat) ?? 0) + 1);
    const act = activityOf(frames.map((f) => f[1]!), dso);
    acts.set(act, (acts.get(act) ?? 0) + 1);
    const role = roleOf.get(tid) ?? 'helper (V8 GC/compiler, libuv pool)';
    const rc = roles.get(role) ?? new Map<string, number>();
    rc.set(cat, (rc.get(cat) ?? 0) + 1);
    roles.set(role, rc);
    const key = `${sym}\u0000${dso}`;
    syms.set(key, (syms.get(key) ?? 0) + 1);
  }
  const perS = (n: number): number => round((n * msPerSample) / measureS, 2);
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    samples,
    activities: sorted(acts).map(([activity, n]) => ({ activity, cpu_ms_per_s: perS(n), share: round(n / samples, 3) })),
    categories: sorted(cats).map(([category, n]) => ({ category, cpu_ms_per_s: perS(n), share: round(n / samples, 3) })),
    by_role: Object.fromEntries([...roles.entries()].map(([role, m]) => [role, sorted(m).map(([category, n]) => ({ category, cpu_ms_per_s: perS(n) }))])),
    top_symbols: sorted(syms)
      .slice(0, 80)
      .map(([k, n]) => {
        const [symbol, dso] = k.split('\u0000');
        return { symbol: symbol!, dso: dso!.replace(/^.*\//, ''), category: dso!.includes('kernel') ? 'kernel' : perfCategory(symbol!, dso!), cpu_ms_per_s: perS(n) };
      }),
  };
}

// ---- V8 --cpu-prof ----------------------------------------------------------------

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Per profiled thread: self time of JavaScript functions (and V8's pseudo-frames) inside the window. */
function cpuProfBreakdown(dir: string, w: WindowedRun): Array<{ thread: string; window_samples_ms: number; categories: Array<{ category: string; ms_per_s: number }>; top: Array<{ fn: string; ms_per_s: number }> }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => {
      const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
      const threadId = Number(f.split('.')[4] ?? -1);
      const byId = new Map(p.nodes.map((n) => [n.id, n]));
      const selfUs = new Map<number, number>();
      let t = p.startTime;
      for (let i = 0; i < p.samples.length; i++) {
        t += p.timeDeltas[i]!;
        const dt = p.timeDeltas[i + 1] ?? 0;
        if (t < w.startUs || t > w.endUs) continue;
        selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + dt);
      }
      const cats = new Map<string, number>();
      const fns = new Map<string, number>();
      let total = 0;
      for (const [id, us] of selfUs) {
        const n = byId.get(id)!;
        const name = n.callFrame.functionName || '(anonymous)';
        if (name === '(idle)') continue;
        total += us;
        const cat = name.startsWith('(') ? `V8 ${name}` : jsCategory(n.callFrame.url);
        cats.set(cat, (cats.get(cat) ?? 0) + us);
        const short = `${name} ${n.callFrame.url.replace(/^.*\/(src|dist)\//, '').replace(/^file:\/\//, '')}:${n.callFrame.lineNumber + 1}`;
        fns.set(short, (fns.get(short) ?? 0) + us);
      }
      const perS = (us: number): number => round(us / 1000 / w.seconds, 2);
      return {
        thread: threadId === 0 ? 'main' : `worker ${threadId}`,
        window_samples_ms: round(total / 1000, 1),
        categories: [...cats.entries()].sort((a, b) => b[1] - a[1]).map(([category, us]) => ({ category, ms_per_s: perS(us) })),
        top: [...fns.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 15)
          .map(([fn, us]) => ({ fn, ms_per_s: perS(us) })),
      };
    });
}

function markdown(plain: WindowedRun, perf: PerfBreakdown | null): string {
  const total = plain.threads.reduce((a, t) => a + t.cpuMs, 0) / plain.seconds;
  const lines = [`Room: ${participants} participants, ${talkers} talkers; ${round(total, 1)} CPU-ms per second in all (${round(total / participants, 2)} per participant-second).`, '', '| thread | CPU-ms per second |', '|---|---|'];
  for (const [role, ms] of Object.entries(byRole(plain))) lines.push(`| ${role} | ${ms} |`);
  if (perf) {
    // perf's own run costs more (the profiler, --perf-basic-prof): its shares are applied to the plain run's total.
    lines.push('', `| what for (perf call chains, ${perf.samples} samples) | CPU-ms per second | share |`, '|---|---|---|');
    for (const a of perf.activities) lines.push(`| ${a.activity} | ${round(a.share * total, 1)} | ${round(a.share * 100, 1)} % |`);
    lines.push('', `| where (perf, ${perf.samples} samples) | CPU-ms per second | share |`, '|---|---|---|');
    for (const c of perf.categories) lines.push(`| ${c.category} | ${round(c.share * total, 1)} | ${round(c.share * 100, 1)} % |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-profile-'));
  try {
    progress(`profiling a ${participants}-participant, ${talkers}-talker room of mediabot rtp, ${measureS} s windows`);
    const media = await prepareRoomMedia(dir, participants, talkers, WARMUP_S + measureS + 20);
    progress('run 1: per-thread CPU from /proc');
    const plain = await windowedRun([], media);
    progress(`  ${plain.room.cpu_ms_per_participant_s} CPU-ms per participant-second; by thread ${JSON.stringify(byRole(plain))}`);
    let perf: PerfBreakdown | null = null;
    let perfRun: WindowedRun | null = null;
    if (perfWorks()) {
      progress('run 2: perf record -e cpu-clock (kernel and user, JavaScript frames through --perf-basic-prof)');
      const file = join(dir, 'perf.data');
      perfRun = await windowedRun(['--perf-basic-prof'], media, (pid) => perfRecord(pid, file));
      perf = await perfBreakdown(file, perfRun);
      progress(`  ${perf.samples} samples`);
    } else {
      progress('run 2 skipped: perf record does not work here');
    }
    progress('run 3: --cpu-prof of every thread');
    const profDir = join(dir, 'cpuprof');
    const profRun = await windowedRun(['--cpu-prof', `--cpu-prof-dir=${profDir}`], media);
    const cpuprof = cpuProfBreakdown(profDir, profRun);
    process.stderr.write(`\n${markdown(plain, perf)}\n\n`);
    const result = {
      rtp_io: rtpIo,
      participants,
      talkers,
      measure_s: measureS,
      plain: { ...plain.room, cpu_ms_per_s: round(plain.threads.reduce((a, t) => a + t.cpuMs, 0) / plain.seconds, 1), by_thread: byRole(plain) },
      perf: perf && perfRun ? { ...perf, run_cpu_ms_per_participant_s: perfRun.room.cpu_ms_per_participant_s, by_thread: byRole(perfRun) } : null,
      cpu_prof: { run_cpu_ms_per_participant_s: profRun.room.cpu_ms_per_participant_s, by_thread: byRole(profRun), threads: cpuprof },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
