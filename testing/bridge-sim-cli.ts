import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SCRIPT, defaultSpeechCacheDir, SpeechBank } from './emulator/speech.js';
import { parseWavPcm16 } from '../src/media/wire/wav.js';
import { bridgePeerToken } from '../src/config/process-settings.js';
import { MediabotError } from '../src/errors.js';
import { startBridgeSimulator, type BridgeSimSpeaker } from './bridge-peer.js';
import { to16k } from './sidecar/index.js';

const USAGE = `usage: mediabot bridge-sim --url URL [--token T] [--call-id ID] [--wav FILE ...]
                          [--speed X] [--no-mixed] [--no-unmixed] [--wait-create]

Plays the media sidecar's part of docs/bridge-protocol.md against a mediabot:
hello, answers createMediaSession with a blob, starts the call's media session,
sends the source map, then streams speech at real time as unmixed streams for
up to 4 active speakers and a mixed stream, with active/dominant speaker
changes. Prints a JSON report (frames sent, outbound audio received, errors).

  --url URL       mediabot's bridge endpoint, e.g. ws://127.0.0.1:3978/media/bridge
  --token T       bridge token (default $MEDIABOT_BRIDGE_TOKEN or $MEDIABOT_API_TOKEN)
  --call-id ID    call id for sessionStarted (default a new UUID)
  --wav FILE      one speaker per file (any rate; converted to 16 kHz mono with sox);
                  repeat for more speakers. Default: the emulator's four espeak-ng speakers
  --speed X       playback speed, 1 = real time (default 1)
  --no-mixed      do not send the mixed stream
  --no-unmixed    do not send unmixed streams
  --wait-create   wait for mediabot's createMediaSession for the call before starting
`;

function loadWav16(path: string): Int16Array {
  let buf = readFileSync(path);
  let wav: { sampleRate: number; samples: Int16Array } | null = null;
  try {
    wav = parseWavPcm16(buf);
  } catch {
    wav = null;
  }
  if (!wav || wav.sampleRate !== 16_000) {
    try {
      buf = execFileSync('sox', [path, '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'wav', '-'], { maxBuffer: 512 * 1024 * 1024 });
    } catch (err) {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `--wav ${path}: cannot convert to 16 kHz mono with sox: ${(err as Error).message}`);
    }
    wav = parseWavPcm16(buf);
  }
  return wav.samples;
}

/** The emulator's scripted meeting (espeak-ng), each speaker's sentences in turn, at 16 kHz. */
async function scriptedSpeakers(): Promise<BridgeSimSpeaker[]> {
  const bank = new SpeechBank(defaultSpeechCacheDir());
  await bank.prepare(DEFAULT_SCRIPT);
  const turns: Array<{ speaker: number; clip: Int16Array }> = [];
  const rounds = Math.max(...DEFAULT_SCRIPT.map((s) => s.sentences.length));
  for (let r = 0; r < rounds; r++) {
    DEFAULT_SCRIPT.forEach((s, i) => {
      const text = s.sentences[r];
      if (text !== undefined) turns.push({ speaker: i, clip: bank.clip(s.voice, text) });
    });
  }
  const gap = 48_000 * 0.4;
  const total = turns.reduce((n, t) => n + t.clip.length + gap, 0);
  const tracks48 = DEFAULT_SCRIPT.map(() => new Int16Array(total));
  let at = 0;
  for (const t of turns) {
    tracks48[t.speaker]!.set(t.clip, at);
    at += t.clip.length + gap;
  }
  return DEFAULT_SCRIPT.map((s, i) => ({ sourceId: 1001 + i, participantId: `participant-${i + 1}`, displayName: s.name, pcm16: to16k(tracks48[i]!) }));
}

export async function runBridgeSimCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        'call-id': { type: 'string' },
        wav: { type: 'string', multiple: true },
        speed: { type: 'string' },
        'no-mixed': { type: 'boolean' },
        'no-unmixed': { type: 'boolean' },
        'wait-create': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`mediabot bridge-sim: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.url || !/^wss?:\/\//.test(values.url)) {
    process.stderr.write(`mediabot bridge-sim: --url ws://… is required\n${USAGE}`);
    return 2;
  }
  const token = values.token ?? bridgePeerToken();
  if (!token) {
    process.stderr.write('mediabot bridge-sim: --token (or MEDIABOT_BRIDGE_TOKEN / MEDIABOT_API_TOKEN) is required\n');
    return 2;
  }
  const speed = values.speed === undefined ? 1 : Number(values.speed);
  if (!(speed > 0 && speed <= 50)) {
    process.stderr.write(`mediabot bridge-sim: --speed must be a number in (0, 50] (got ${values.speed})\n`);
    return 2;
  }
  const speakers: BridgeSimSpeaker[] = values.wav?.length
    ? values.wav.map((path, i) => ({ sourceId: 1001 + i, participantId: `participant-${i + 1}`, displayName: basename(path), pcm16: loadWav16(path) }))
    : await scriptedSpeakers();
  const callId = values['call-id'] ?? randomUUID();
  process.stderr.write(`bridge-sim: ${speakers.length} speakers, call ${callId}, ${(Math.max(...speakers.map((s) => s.pcm16.length)) / 16_000).toFixed(1)} s of audio at ${speed}× real time\n`);
  const sim = await startBridgeSimulator({
    url: values.url,
    token,
    callId,
    speakers,
    speed,
    mixed: !values['no-mixed'],
    unmixed: !values['no-unmixed'],
    waitForCreate: values['wait-create'] === true,
  });
  const stop = (): void => void sim.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const report = await sim.done;
  const { samples: _samples, ...outbound } = report.outbound;
  process.stdout.write(`${JSON.stringify({ callId, ...report, outbound }, null, 2)}\n`);
  return report.errors.length === 0 ? 0 : 1;
}
