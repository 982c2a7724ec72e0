/**
 * Azure Communication Services media streaming messages (JSON text frames).
 *
 * Inbound (ACS → mediabot):
 *   {"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"…","encoding":"PCM","sampleRate":16000,"channels":1,"length":640}}
 *   {"kind":"AudioData","audioData":{"timestamp":"2024-05-01T10:00:00.020Z","participantRawID":"8:acs:…","data":"<base64 PCM s16le>","silent":false}}
 *     (mixed audio has no participantRawID)
 *   {"kind":"DtmfData","dtmfData":{"data":"5","participantRawID":"8:acs:…","timestamp":"…"}}
 * Outbound (mediabot → ACS, bidirectional streaming):
 *   {"kind":"AudioData","audioData":{"data":"<base64 PCM s16le>"}}
 *   {"kind":"StopAudio","stopAudio":{}}
 * Keys are matched case-insensitively on their first letter (the .NET SDK writes PascalCase).
 */
import { MediabotError } from '../../errors.js';
import { parseJsonObject } from '../common/shared.js';

export type AcsInbound =
  | { kind: 'AudioMetadata'; sampleRate: 16_000 | 24_000; length: number | null; subscriptionId: string | null }
  | { kind: 'AudioData'; timestampMs: number; participantRawId: string | null; data: Buffer; silent: boolean }
  | { kind: 'DtmfData'; tone: string; participantRawId: string | null; timestampMs: number | null }
  | { kind: 'Other'; name: string };

const bad = (message: string): MediabotError => new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', message);

function field(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const pascal = name[0]!.toUpperCase() + name.slice(1);
  return obj[pascal];
}

function objectField(obj: Record<string, unknown>, name: string): Record<string, unknown> {
  const v = field(obj, name);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${name} must be an object`);
  return v as Record<string, unknown>;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses one ACS media streaming message. Throws MEDIABOT_INGRESS_BAD_MESSAGE / _BAD_RATE. */
export function parseAcsMessage(text: string): AcsInbound {
  const m = parseJsonObject(text, 'ACS message');
  const kind = field(m, 'kind');
  if (typeof kind !== 'string') throw bad('ACS message has no kind');
  switch (kind) {
    case 'AudioMetadata': {
      const md = objectField(m, 'audioMetadata');
      const rate = field(md, 'sampleRate');
      if (rate !== 16_000 && rate !== 24_000) throw new MediabotError('MEDIABOT_INGRESS_BAD_RATE', `ACS sampleRate must be 16000 or 24000 (got ${String(rate)})`);
      const encoding = field(md, 'encoding');
      if (encoding !== undefined && encoding !== 'PCM') throw bad(`ACS encoding must be PCM (got ${String(encoding)})`);
      const channels = field(md, 'channels');
      if (channels !== undefined && channels !== 1) throw bad(`ACS audio must be mono (got ${String(channels)} channels)`);
      const length = field(md, 'length');
      const sub = field(md, 'subscriptionId');
      return { kind, sampleRate: rate, length: typeof length === 'number' ? length : null, subscriptionId: typeof sub === 'string' ? sub : null };
    }
    case 'AudioData': {
      const ad = objectField(m, 'audioData');
      const data = field(ad, 'data');
      if (typeof data !== 'string' || !BASE64.test(data)) throw bad('audioData.data must be base64');
      const ts = field(ad, 'timestamp');
      const timestampMs = typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
      if (!Number.isFinite(timestampMs)) throw bad(`audioData.timestamp must be an ISO-8601 time (got ${JSON.stringify(ts)})`);
      const p = field(ad, 'participantRawID') ?? ad['participantRawId'];
      const silent = field(ad, 'silent');
      return { kind, timestampMs, participantRawId: typeof p === 'string' && p.length > 0 ? p : null, data: Buffer.from(data, 'base64'), silent: silent === true };
    }
    case 'DtmfData': {
      const dd = objectField(m, 'dtmfData');
      const tone = field(dd, 'data');
      if (typeof tone !== 'string' || !/^[0-9A-Da-d*#]$/.test(tone)) throw bad(`dtmfData.data must be one DTMF tone (got ${JSON.stringify(tone)})`);
      const p = field(dd, 'participantRawID') ?? dd['participantRawId'];
      const ts = field(dd, 'timestamp');
      const t = typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
      return { kind, tone: tone.toUpperCase(), participantRawId: typeof p === 'string' ? p : null, timestampMs: Number.isFinite(t) ? t : null };
    }
    default:
      return { kind: 'Other', name: kind };
  }
}

export function acsAudioMessage(pcm: Int16Array): string {
  const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  return JSON.stringify({ kind: 'AudioData', audioData: { data: bytes.toString('base64') } });
}

export const ACS_STOP_AUDIO = JSON.stringify({ kind: 'StopAudio', stopAudio: {} });
