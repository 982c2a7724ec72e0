import dgram from 'node:dgram';
import opus from '@discordjs/opus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMediaBlob, type Emulator } from '../../../testing/emulator/index.js';
import { CallbackServer, getToken, isCallState, isRoster, item, request, startEmulator } from './helpers.js';

interface Arrival {
  at: number;
  seq: number;
  ts: number;
  pt: number;
  payload: Buffer;
}

function rms(pcm: Buffer): number {
  let sum = 0;
  const n = pcm.length >> 1;
  for (let i = 0; i < n; i++) {
    const v = pcm.readInt16LE(i * 2);
    sum += v * v;
  }
  return n ? Math.sqrt(sum / n) : 0;
}

describe('simulated meeting with app-hosted media over RTP', () => {
  let emu: Emulator;
  let cb: CallbackServer;
  let sock: dgram.Socket;
  const streams = new Map<number, Arrival[]>();
  const sources = new Map<number, { address: string; port: number }>();
  let echo = false;

  beforeAll(async () => {
    emu = await startEmulator();
    cb = new CallbackServer();
    await cb.start();
    sock = dgram.createSocket('udp4');
    // A bot that answers each participant with audio (the participant's own packets) when echo is on.
    sock.on('message', (msg, rinfo) => {
      const ssrc = msg.readUInt32BE(8);
      const list = streams.get(ssrc) ?? [];
      list.push({ at: performance.now(), seq: msg.readUInt16BE(2), ts: msg.readUInt32BE(4), pt: msg[1]! & 0x7f, payload: msg.subarray(12) });
      streams.set(ssrc, list);
      sources.set(ssrc, { address: rinfo.address, port: rinfo.port });
      if (echo) sock.send(msg, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  });

  afterAll(async () => {
    sock?.close();
    await emu?.close();
    await cb?.close();
  });

  it('streams each simulated speaker as paced, decodable Opus speech at ~50 packets/s and records the bot audio', async () => {
    const token = await getToken(emu);
    const meeting = emu.createMeeting({ subject: 'Planning' });
    const res = await request(emu, 'POST', '/v1.0/communications/calls', {
      token,
      body: {
        '@odata.type': '#microsoft.graph.call',
        callbackUri: `${cb.url}/api/calling`,
        requestedModalities: ['audio'],
        mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: encodeMediaBlob({ rtp: { host: '127.0.0.1', port: sock.address().port } }) },
        chatInfo: { '@odata.type': '#microsoft.graph.chatInfo', threadId: (meeting['chatInfo'] as { threadId: string }).threadId, messageId: '0' },
        meetingInfo: { '@odata.type': '#microsoft.graph.organizerMeetingInfo', organizer: { user: { id: meeting['id'], tenantId: emu.tenantId } } },
      },
    });
    expect(res.status, res.text).toBe(201);
    const callId = res.body.id as string;
    await cb.waitFor(isRoster(callId, (l) => l.length === 4), 15_000, 'roster with bot + 3 people');
    echo = true;
    await new Promise((r) => setTimeout(r, 3000));

    expect(streams.size).toBe(3);
    const decoder = new opus.OpusEncoder(48_000, 1);
    for (const [ssrc, list] of streams) {
      expect(list.length).toBeGreaterThan(60);
      const seconds = (list[list.length - 1]!.at - list[0]!.at) / 1000;
      const rate = (list.length - 1) / seconds;
      expect(rate, `ssrc ${ssrc} packet rate`).toBeGreaterThan(45);
      expect(rate, `ssrc ${ssrc} packet rate`).toBeLessThan(55);
      for (let i = 1; i < list.length; i++) {
        expect((list[i]!.seq - list[i - 1]!.seq) & 0xffff).toBe(1);
        expect((list[i]!.ts - list[i - 1]!.ts) >>> 0).toBe(960);
      }
      expect(list[0]!.pt).toBe(111);
      const levels = list.map((a) => rms(decoder.decode(a.payload)));
      expect(levels.every((l) => Number.isFinite(l))).toBe(true);
      const loud = levels.filter((l) => l > 300).length;
      // Someone is talking for at least part of the window: speech energy on this stream.
      if (ssrc === [...streams.keys()][0]) expect(loud).toBeGreaterThan(10);
    }
    // Every participant sends from its own socket.
    expect(new Set([...sources.values()].map((s) => s.port)).size).toBe(3);

    // An RTCP receiver report from the bot is counted as RTCP, not as bad RTP.
    const first = [...sources.values()][0]!;
    sock.send(Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 7]), first.port, first.address);
    await new Promise((r) => setTimeout(r, 100));
    const details = emu.callDetails(callId) as any;
    expect(details.media.botAudio.rtcpPackets).toBe(1);
    expect(details.media.botAudio.malformed).toBe(0);
    expect(details.media.participants).toHaveLength(3);
    expect(details.media.botAudio.packets).toBeGreaterThan(50);
    expect(details.media.botAudio.decodedFrames).toBe(details.media.botAudio.packets);
    expect(details.media.botAudio.soundFrames).toBeGreaterThan(5);
    expect(details.media.botAudio.maxRms).toBeGreaterThan(500);
    expect(details.script).toHaveLength(3);
    expect(details.script[0].utterances[0].text).toBe(emu.script[0]!.sentences[0]);
    // Overlapping turns: some utterance starts before the previous speaker's ends.
    const all = details.script.flatMap((s: any) => s.utterances).sort((a: any, b: any) => a.startMs - b.startMs);
    expect(all.some((u: any, i: number) => i > 0 && u.startMs < all[i - 1].endMs)).toBe(true);
    const over = await request(emu, 'GET', `/_emulator/calls/${callId}`);
    expect(over.body.media.participants[0].sentPackets).toBeGreaterThan(100);
    await request(emu, 'DELETE', `/v1.0/communications/calls/${callId}`, { token });
    echo = false;
  });

  it('runs a short meeting to its end: people join, speak, leave, the call ends 200/5002 and a call record appears', async () => {
    streams.clear();
    const token = await getToken(emu);
    const meeting = emu.createMeeting({
      people: [
        { name: 'Ann', voice: 'en-us+f3', sentences: ['Hello there.'] },
        { name: 'Bob', voice: 'en-us+m3', sentences: ['Good morning.'] },
      ],
    });
    const res = await request(emu, 'POST', '/v1.0/communications/calls', {
      token,
      body: {
        callbackUri: `${cb.url}/api/calling`,
        requestedModalities: ['audio'],
        mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: JSON.stringify({ rtp: { host: '127.0.0.1', port: sock.address().port } }) },
        chatInfo: { threadId: (meeting['chatInfo'] as { threadId: string }).threadId, messageId: '0' },
        meetingInfo: { '@odata.type': '#microsoft.graph.organizerMeetingInfo', organizer: { user: { id: 'org' } } },
      },
    });
    expect(res.status).toBe(201);
    const callId = res.body.id as string;
    const ended = await cb.waitFor(isCallState(callId, 'terminated'), 30_000, 'meeting end');
    expect(item(ended).resourceData.resultInfo).toMatchObject({ code: 200, subcode: 5002 });
    const rosterSizes = cb.received.filter(isRoster(callId)).map((c) => item(c).resourceData.length);
    expect(rosterSizes).toEqual([1, 2, 3, 2, 1]);
    const ssrcs = ((emu.callDetails(callId) as any).media.participants as { ssrc: number }[]).map((p) => p.ssrc);
    expect(ssrcs).toHaveLength(2);
    for (const ssrc of ssrcs) expect(streams.get(ssrc)?.length ?? 0).toBeGreaterThan(50);
    await new Promise((r) => setTimeout(r, 200));
    const rec = await request(emu, 'GET', `/v1.0/communications/callRecords/${res.body.callChainId}?$expand=sessions($expand=segments)`, { token });
    expect(rec.status).toBe(200);
    expect(rec.body.sessions).toHaveLength(2);
    const sent = rec.body.sessions.map((s: any) => s.segments[0].media[0].streams.find((x: any) => x.streamDirection === 'callerToCallee').packetUtilization);
    for (const n of sent) expect(n).toBeGreaterThan(50);
  });
});
