/**
 * Janus AudioBridge (Debian's `janus`) as a reference conference mixer: started
 * with its own configuration in a temporary folder (the AudioBridge plugin and
 * the HTTP transport only, everything on 127.0.0.1), driven over the Janus HTTP
 * API. Participants are plain-RTP: each `join` names the address and port the
 * mix goes to and is answered with the port Janus expects the RTP on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian installs the Janus modules (x86-64 and arm64 multiarch). */
const MODULE_DIRS = ['/usr/lib/x86_64-linux-gnu/janus', '/usr/lib/aarch64-linux-gnu/janus', '/usr/lib/janus'];

export function janusModuleDir(): string | null {
  return MODULE_DIRS.find((d) => existsSync(join(d, 'plugins', 'libjanus_audiobridge.so'))) ?? null;
}

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

interface JanusReply {
  janus: string;
  transaction?: string;
  data?: { id: number };
  error?: { code: number; reason: string };
  plugindata?: { data: Record<string, unknown> };
}

export interface JanusRoom {
  child: ChildProcess;
  /** Joins one plain-RTP participant whose mix goes to 127.0.0.1:`rtpPort`; resolves with Janus' RTP port for it. */
  join: (rtpPort: number, display: string) => Promise<number>;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts Janus with a fresh configuration and creates one AudioBridge room at `samplingRate` that takes plain-RTP participants. */
export async function startJanusRoom(opts: { samplingRate?: number } = {}): Promise<JanusRoom> {
  const modules = janusModuleDir();
  if (!modules) throw new Error('Janus AudioBridge not found (apt-get install janus)');
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-janus-'));
  for (const sub of ['conf', 'plugins', 'transports', 'none']) mkdirSync(join(dir, sub));
  // Only the two modules we use are visible to Janus: nothing else is loaded.
  symlinkSync(join(modules, 'plugins', 'libjanus_audiobridge.so'), join(dir, 'plugins', 'libjanus_audiobridge.so'));
  symlinkSync(join(modules, 'transports', 'libjanus_http.so'), join(dir, 'transports', 'libjanus_http.so'));
  const httpPort = await freeTcpPort();
  const conf = join(dir, 'conf');
  writeFileSync(
    join(conf, 'janus.jcfg'),
    `general: {
  configs_folder = "${conf}"
  plugins_folder = "${join(dir, 'plugins')}"
  transports_folder = "${join(dir, 'transports')}"
  events_folder = "${join(dir, 'none')}"
  loggers_folder = "${join(dir, 'none')}"
  debug_level = 3
  session_timeout = 0
}
nat: {
  ice_enforce_list = "lo"
}
`,
  );
  writeFileSync(join(conf, 'janus.plugin.audiobridge.jcfg'), 'general: {\n  local_ip = "127.0.0.1"\n}\n');
  writeFileSync(
    join(conf, 'janus.transport.http.jcfg'),
    `general: {
  json = "compact"
  base_path = "/janus"
  http = true
  port = ${httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
}
`,
  );
  const child = spawn('janus', ['-C', join(conf, 'janus.jcfg'), '-F', conf, '-P', join(dir, 'plugins'), '-o'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const base = `http://127.0.0.1:${httpPort}/janus`;
  let txn = 0;
  const post = async (path: string, body: Record<string, unknown>): Promise<JanusReply> => {
    const transaction = `t${++txn}`;
    const res = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify({ ...body, transaction }) });
    const reply = (await res.json()) as JanusReply;
    if (reply.janus === 'error') throw new Error(`janus ${String(body['janus'])}: ${reply.error?.reason ?? 'error'}`);
    return { ...reply, transaction };
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await once(child, 'exit');
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The HTTP transport answers once Janus is up.
    const deadline = Date.now() + 20_000;
    let session = 0;
    while (session === 0) {
      if (child.exitCode !== null) throw new Error(`janus exited with ${child.exitCode}: ${out}`);
      try {
        session = (await post('', { janus: 'create' })).data!.id;
      } catch {
        if (Date.now() > deadline) throw new Error(`janus did not get ready: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const attach = async (): Promise<number> => (await post(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.audiobridge' })).data!.id;
    const room = 1000 + Math.floor(Math.random() * 1e6);
    const admin = await attach();
    const created = await post(`/${session}/${admin}`, {
      janus: 'message',
      body: { request: 'create', room, sampling_rate: opts.samplingRate ?? 48_000, allow_rtp_participants: true, record: false, permanent: false },
    });
    if (created.plugindata?.data['audiobridge'] !== 'created') throw new Error(`janus room create: ${JSON.stringify(created)}`);
    const pending: JanusReply[] = [];
    const join = async (rtpPort: number, display: string): Promise<number> => {
      const handle = await attach();
      const { transaction } = await post(`/${session}/${handle}`, {
        janus: 'message',
        body: { request: 'join', room, display, rtp: { ip: '127.0.0.1', port: rtpPort, payload_type: 111 } },
      });
      // The join is answered asynchronously, as an event on the session's long poll.
      for (;;) {
        const i = pending.findIndex((e) => e.transaction === transaction);
        if (i >= 0) {
          const data = pending.splice(i, 1)[0]!.plugindata?.data ?? {};
          const rtp = data['rtp'] as { port?: number } | undefined;
          if (data['audiobridge'] !== 'joined' || !rtp?.port) throw new Error(`janus join: ${JSON.stringify(data)}`);
          return rtp.port;
        }
        const res = await fetch(`${base}/${session}?maxev=50`);
        const events = (await res.json()) as JanusReply | JanusReply[];
        pending.push(...(Array.isArray(events) ? events : [events]));
        // Keep only replies to transactions (the rest are notifications about other participants).
        for (let k = pending.length - 1; k >= 0; k--) if (!pending[k]!.transaction) pending.splice(k, 1);
      }
    };
    return { child, join, output: () => out, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
