import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allBridgeSchemas, BOT_MESSAGE_SCHEMAS, parseControlMessage, SIDECAR_MESSAGE_SCHEMAS } from '../../../src/ingress/bridge/schemas.js';
import { decodeFrameHeader, encodeFrame, FrameCodec, FrameKind, HEADER_BYTES, pcmFromPayload, payloadFromPcm } from '../../../src/ingress/bridge/wire.js';

const SCHEMA_DIR = join(process.cwd(), 'docs', 'schemas', 'bridge');

describe('bridge control schemas', () => {
  it('docs/schemas/bridge holds exactly the schemas the code validates with', () => {
    const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json')).sort();
    const schemas = allBridgeSchemas();
    expect(files).toEqual(Object.keys(schemas).map((n) => `${n}.json`).sort());
    for (const [name, schema] of Object.entries(schemas)) expect(JSON.parse(readFileSync(join(SCHEMA_DIR, `${name}.json`), 'utf8'))).toEqual(schema);
  });

  it('the protocol document shows a valid example of every message', () => {
    const doc = readFileSync(join(process.cwd(), 'docs', 'bridge-protocol.md'), 'utf8');
    const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as { type: string });
    for (const type of Object.keys(SIDECAR_MESSAGE_SCHEMAS)) {
      const ex = examples.find((e) => e.type === type);
      expect(ex, `example of ${type}`).toBeDefined();
      expect(() => parseControlMessage(JSON.stringify(ex), 'fromSidecar')).not.toThrow();
    }
    for (const type of Object.keys(BOT_MESSAGE_SCHEMAS)) {
      const ex = examples.find((e) => e.type === type);
      expect(ex, `example of ${type}`).toBeDefined();
      expect(() => parseControlMessage(JSON.stringify(ex), 'fromBot')).not.toThrow();
    }
  });

  it.each([
    ['not JSON', '{"type":'],
    ['an array', '[1]'],
    ['unknown type', '{"type":"nope"}'],
    ['a missing field', '{"type":"sessionStarted","callId":"c"}'],
    ['an extra field', '{"type":"ping","extra":1}'],
    ['a wrong type', '{"type":"sessionStarted","callId":"c","callIndex":"1"}'],
    ['an out-of-range value', '{"type":"sessionStarted","callId":"c","callIndex":70000}'],
    ['a bad DTMF tone', '{"type":"dtmf","callId":"c","tone":"X","direction":"received"}'],
    ['a bot-only message from the sidecar', '{"type":"createMediaSession","callId":"c","requestId":"r"}'],
  ])('rejects %s with MEDIABOT_INGRESS_BAD_MESSAGE', (_what, text) => {
    expect(() => parseControlMessage(text, 'fromSidecar')).toThrowError(expect.objectContaining({ code: 'MEDIABOT_INGRESS_BAD_MESSAGE' }));
  });
});

describe('bridge media frame', () => {
  it('round-trips any header and payload (little-endian fields at fixed offsets)', () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom(FrameKind.Mixed, FrameKind.Unmixed, FrameKind.Outbound),
          flags: fc.integer({ min: 0, max: 3 }),
          callIndex: fc.integer({ min: 0, max: 0xffff }),
          sourceId: fc.integer({ min: 0, max: 0xffffffff }),
          sequence: fc.integer({ min: 0, max: 0xffffffff }),
          timestampMs: fc.integer({ min: 0, max: 0xffffffff }),
        }),
        fc.oneof(fc.constant(null), fc.uint8Array({ minLength: 1, maxLength: 1275 })),
        (h, opus) => {
          const payload = opus ?? new Uint8Array(640).map((_, i) => i & 0xff);
          const codec = opus ? FrameCodec.Opus : FrameCodec.Pcm16k;
          const buf = encodeFrame({ ...h, codec }, payload);
          expect(buf.length).toBe(HEADER_BYTES + payload.length);
          expect(buf.readUInt16LE(4)).toBe(h.callIndex);
          expect(buf.readUInt32LE(6)).toBe(h.sourceId);
          expect(buf.readUInt32LE(14)).toBe(h.timestampMs);
          expect(decodeFrameHeader(buf)).toEqual({ version: 1, ...h, codec, payloadLength: payload.length });
        },
      ),
    );
  });

  it('carries PCM as s16le', () => {
    const pcm = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    const bytes = payloadFromPcm(pcm);
    expect(Array.from(bytes.subarray(0, 6))).toEqual([0, 0, 1, 0, 0xff, 0xff]);
    expect(Array.from(pcmFromPayload(bytes, 0, bytes.length))).toEqual(Array.from(pcm));
  });

  it('rejects malformed frames with typed errors', () => {
    const good = encodeFrame({ kind: FrameKind.Unmixed, codec: FrameCodec.Pcm16k, flags: 0, callIndex: 1, sourceId: 2, sequence: 3, timestampMs: 4 }, new Uint8Array(640));
    const code = (b: Uint8Array): string | undefined => {
      try {
        decodeFrameHeader(b);
        return undefined;
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    expect(code(good)).toBeUndefined();
    expect(code(good.subarray(0, 10))).toBe('MEDIABOT_INGRESS_BAD_FRAME');
    expect(code(good.subarray(0, 400))).toBe('MEDIABOT_INGRESS_BAD_FRAME');
    const v9 = Buffer.from(good);
    v9[0] = 9;
    expect(code(v9)).toBe('MEDIABOT_INGRESS_BAD_VERSION');
    const kind = Buffer.from(good);
    kind[1] = 3;
    expect(code(kind)).toBe('MEDIABOT_INGRESS_BAD_FRAME');
    const codec = Buffer.from(good);
    codec[2] = 2;
    expect(code(codec)).toBe('MEDIABOT_INGRESS_BAD_FRAME');
    const short = encodeFrame({ kind: FrameKind.Unmixed, codec: FrameCodec.Pcm16k, flags: 0, callIndex: 1, sourceId: 2, sequence: 3, timestampMs: 4 }, new Uint8Array(320));
    expect(code(short)).toBe('MEDIABOT_INGRESS_BAD_FRAME');
    const emptyOpus = encodeFrame({ kind: FrameKind.Unmixed, codec: FrameCodec.Opus, flags: 0, callIndex: 1, sourceId: 2, sequence: 3, timestampMs: 4 }, new Uint8Array(0));
    expect(code(emptyOpus)).toBe('MEDIABOT_INGRESS_BAD_FRAME');
  });
});
