/**
 * Writes the seed corpus of the fuzz targets (test/fuzz/corpus/<target>/): valid inputs of every
 * parser of untrusted bytes, built with the project's own writers (and ffmpeg for one Ogg Opus
 * file). Run once after a wire format changes: `npx tsx test/fuzz/make-corpus.ts`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { audioLevelExtension, serializeRtp } from '../../src/media/wire/rtp.js';
import { serializeRtcp } from '../../src/media/wire/rtcp.js';
import { encodeFrame, FrameCodec, FrameKind, payloadFromPcm } from '../../src/ingress/bridge/wire.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'corpus');

function put(target: string, name: string, data: Uint8Array | string): void {
  mkdirSync(join(ROOT, target), { recursive: true });
  writeFileSync(join(ROOT, target, name), data);
}

const opus = new Uint8Array([0xfc, 0xff, 0xfe, 0x01, 0x02, 0x03]);
put('rtp', 'plain.bin', serializeRtp({ payloadType: 111, sequence: 1, timestamp: 960, ssrc: 0x1234, payload: opus }));
put('rtp', 'csrc-ext.bin', serializeRtp({ payloadType: 111, marker: true, sequence: 65535, timestamp: 0xffffffff, ssrc: 7, csrcs: [1, 2, 3], extensions: [audioLevelExtension(1, true, 30)], payload: opus }));
put('rtp', 'two-byte-ext.bin', serializeRtp({ payloadType: 96, sequence: 9, timestamp: 1, ssrc: 9, extensions: [{ id: 3, data: new Uint8Array(20) }], twoByteExtensions: true, payload: opus }));

put('rtcp', 'sr-sdes.bin', serializeRtcp([
  { type: 'sr', ssrc: 1, ntpSeconds: 3_900_000_000, ntpFraction: 5, rtpTimestamp: 960, packetCount: 10, octetCount: 1000, reports: [{ ssrc: 2, fractionLost: 1, cumulativeLost: 2, highestSeq: 100, jitter: 3, lsr: 4, dlsr: 5 }] },
  { type: 'sdes', chunks: [{ ssrc: 1, cname: 'mediabot@example' }] },
]));
put('rtcp', 'rr-bye.bin', serializeRtcp([
  { type: 'rr', ssrc: 3, reports: [] },
  { type: 'bye', ssrcs: [3], reason: 'done' },
]));

const pcm = new Int16Array(320).map((_, i) => Math.round(Math.sin(i / 5) * 8000));
put('bridge-frame', 'pcm.bin', encodeFrame({ kind: FrameKind.Unmixed, codec: FrameCodec.Pcm16k, flags: 0, callIndex: 1, sourceId: 1001, sequence: 5, timestampMs: 20 }, payloadFromPcm(pcm)));
put('bridge-frame', 'opus.bin', encodeFrame({ kind: FrameKind.Mixed, codec: FrameCodec.Opus, flags: 0, callIndex: 2, sourceId: 0xffffffff, sequence: 0, timestampMs: 0 }, opus));

// The protocol document's example messages, one per file.
const doc = readFileSync(join(ROOT, '..', '..', '..', 'docs', 'bridge-protocol.md'), 'utf8');
let n = 0;
for (const line of doc.split('\n')) if (line.startsWith('{"type":')) put('bridge-control', `msg-${String(++n).padStart(2, '0')}.json`, line);

put('acs', 'metadata.json', JSON.stringify({ kind: 'AudioMetadata', audioMetadata: { subscriptionId: 'sub-1', encoding: 'PCM', sampleRate: 16000, channels: 1, length: 640 } }));
put('acs', 'audio.json', JSON.stringify({ kind: 'AudioData', audioData: { timestamp: '2026-01-01T00:00:00.000Z', participantRawID: '8:acs:1', data: Buffer.from(payloadFromPcm(pcm)).toString('base64'), silent: false } }));
put('acs', 'silent.json', JSON.stringify({ kind: 'AudioData', audioData: { timestamp: '2026-01-01T00:00:00.020Z', data: '', silent: true } }));

const ogg = join(tmpdir(), `fuzz-seed-${process.pid}.opus`);
execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.1', '-ar', '48000', '-ac', '1', '-c:a', 'libopus', '-b:a', '16k', ogg]);
put('ogg', 'sine-100ms.opus', readFileSync(ogg));
rmSync(ogg);

// Graph notification envelopes in the shapes Graph sends (written for these tests).
const call = '/communications/calls/3e1f0b00-0000-4000-8000-00000000a001';
put('notifications', 'established.json', JSON.stringify({ value: [{ '@odata.type': '#microsoft.graph.commsNotification', changeType: 'updated', resourceUrl: call, resourceData: { '@odata.type': '#microsoft.graph.call', state: 'established' } }] }));
put('notifications', 'terminated.json', JSON.stringify({ value: [{ changeType: 'deleted', resourceUrl: call, resourceData: { '@odata.type': '#microsoft.graph.call', state: 'terminated', resultInfo: { code: 200, subcode: 5001, message: 'ended' } } }] }));
put('notifications', 'roster.json', JSON.stringify({ value: [{ changeType: 'updated', resourceUrl: `${call}/participants`, resourceData: [{ '@odata.type': '#microsoft.graph.participant', id: 'p1', info: { identity: { user: { id: 'u1', displayName: 'Ada', tenantId: 't1' } } }, mediaStreams: [{ mediaType: 'audio', direction: 'sendReceive', sourceId: '1', serverMuted: false }], isMuted: false, isInLobby: false }] }] }));
put('notifications', 'operation.json', JSON.stringify({ value: [{ changeType: 'deleted', resourceUrl: `${call}/operations/op-1`, resourceData: { '@odata.type': '#microsoft.graph.playPromptOperation', status: 'completed', clientContext: 'c1', resultInfo: { code: 200, subcode: 0 } } }] }));
put('notifications', 'incoming.json', JSON.stringify({ value: [{ changeType: 'created', resourceUrl: call, resourceData: { '@odata.type': '#microsoft.graph.call', state: 'incoming', direction: 'incoming', tenantId: 't1', source: { identity: { user: { id: 'u2', displayName: 'Bo' } } }, targets: [{ identity: { application: { id: 'app' } } }], requestedModalities: ['audio'] } }] }));
put('notifications', 'change-callrecord.json', JSON.stringify({ value: [{ subscriptionId: 's1', clientState: 'cs', changeType: 'created', resource: 'communications/callRecords/r1', resourceData: { '@odata.type': '#microsoft.graph.callrecord', id: 'r1' }, tenantId: 't1', subscriptionExpirationDateTime: '2026-01-01T00:00:00Z' }] }));
put('notifications', 'lifecycle.json', JSON.stringify({ value: [{ subscriptionId: 's1', clientState: 'cs', lifecycleEvent: 'reauthorizationRequired', tenantId: 't1', subscriptionExpirationDateTime: '2026-01-01T00:00:00Z' }] }));
console.log(`corpus written to ${ROOT}`);
