/**
 * `npm run bench:wer`: what the media path costs in recognition accuracy, on
 * real human speech with reference transcripts (Debian's pocketsphinx-testdata,
 * LibriVox clips). Prints JSON:
 *   direct_wer    pocketsphinx run directly on the WAV files (as sent: with the same lead-in);
 *   pipeline_wer  the same audio sent by ffmpeg as Opus RTP through `mediabot rtp`
 *                 and its pocketsphinx transcription hook (16 kHz tap);
 *   loss5_wer     the same with 5 % random packet loss and 5 % reordering.
 *   codec_wer     (reference) the same Opus encoding decoded offline by ffmpeg: what the
 *                 sender's codec alone costs, so `pipeline_wer - codec_wer` is mediabot's part.
 * The sender is ffmpeg as a softphone would be set up (Opus VOIP 32 kbps, 20 ms, in-band FEC
 * for an expected 10 % loss). Every run uses the same decoder arguments.
 *
 * Why several runs with different lead-ins: the five clips hold 71 words (one word is 0.014 of
 * WER), and pocketsphinx's output on a clip can flip with a few tens of milliseconds more or less
 * silence before the speech (its voice detection and cepstral mean start from that silence): clip
 * 0930 decoded packet for packet, with no jitter buffer at all, reads "made a real boy i'm self
 * taught" at one lead-in and "made amiable him self" at another. A network path always shifts the
 * lead-in by its playout delay. So run r sends every clip with a lead-in of 300 + 73·r ms, and
 * every condition (direct, codec, pipeline, loss) is measured at the same lead-ins; the figures
 * are the means over the runs, with every run's value alongside.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { editDistance, words } from '../src/util/wer.js';
import { POCKETSPHINX_DEFAULT_ARGS } from '../src/media/hooks/transcribe/pocketsphinx.js';
import { ffmpegOpusArgs, ffmpegSend, LossyRelay, startRtpMixer } from './lib/rtp-peers.js';
import { progress, round } from './lib/stats.js';

const run = promisify(execFile);
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

interface Clip {
  id: string;
  wav: string;
  reference: string[];
}

function wer(clips: Clip[], hyps: Map<string, string[]>): number {
  let edits = 0;
  let total = 0;
  for (const c of clips) {
    edits += editDistance(c.reference, hyps.get(c.id) ?? []);
    total += c.reference.length;
  }
  return total === 0 ? 0 : edits / total;
}

function loadClips(): Clip[] {
  const lines = readFileSync(join(LIBRIVOX, 'transcription'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.map((line) => {
    const id = /\(([^)]+)\)\s*$/.exec(line)![1]!;
    // Reference lines look like `<s> words </s> (clip-id)`.
    return { id, wav: join(LIBRIVOX, `${id}.wav`), reference: words(line.replace(/<\/?s>|\([^)]*\)\s*$/g, ' ')) };
  });
}

async function recognize(wav: string): Promise<string[]> {
  const { stdout } = await run('pocketsphinx_continuous', ['-infile', wav, ...POCKETSPHINX_DEFAULT_ARGS, '-logfn', '/dev/null'], { maxBuffer: 1 << 20 });
  return words(stdout);
}

/** Silence before and after each clip, as a softphone call would have around the speech. */
const TAIL_S = 0.8;
const leadInMs = (run: number): number => 300 + 73 * run;

/** A copy of the clip at `rate` with the run's lead-in and the tail: exactly what the sender sends. */
async function padded(clip: Clip, work: string, leadMs: number, rate: number): Promise<string> {
  const f = join(work, `${clip.id}-${leadMs}-${rate}.wav`);
  // -D: no dither. sox dithers a resampled 16-bit output with random noise by default, and
  // pocketsphinx's result flips on that noise alone, so every run would hear different audio.
  await run('sox', ['-D', clip.wav, '-r', String(rate), f, 'pad', String(leadMs / 1000), String(TAIL_S)]);
  return f;
}

/** The sender's codec alone: the same ffmpeg Opus encoding, decoded offline to 16 kHz. */
async function codecOnly(wav48: string, work: string): Promise<string[]> {
  const opus = join(work, 'codec.opus');
  const wav = join(work, 'codec.wav');
  await run('ffmpeg', ['-v', 'error', '-y', '-i', wav48, ...ffmpegOpusArgs({ fec: true }), opus]);
  await run('ffmpeg', ['-v', 'error', '-y', '-i', opus, '-ar', '16000', '-ac', '1', wav]);
  return recognize(wav);
}

/**
 * Clips through `mediabot rtp` as participants of one call, each through its
 * own relay. `concurrency` clips share a call (1 = one call per clip, the
 * least contention on a small machine).
 */
async function throughPipeline(clips: Clip[], work: string, label: string, loss: number, leadMs: number, concurrency = 1): Promise<Map<string, string[]>> {
  const hyps = new Map<string, string[]>();
  for (let i = 0; i < clips.length; i += concurrency) {
    const batch = clips.slice(i, i + concurrency);
    const part = await throughOneCall(batch, work, `${label}-${i}`, loss, leadMs);
    for (const [k, v] of part) hyps.set(k, v);
  }
  return hyps;
}

async function throughOneCall(clips: Clip[], work: string, label: string, loss: number, leadMs: number): Promise<Map<string, string[]>> {
  const out = join(work, label);
  const statsFile = join(work, `${label}-stats.json`);
  const mixer = await startRtpMixer(['--out', out, '--record', 'off', '--transcribe', 'pocketsphinx', '--seconds', '120', '--stats', statsFile], { echoStderr: true });
  const port = mixer.port;
  const relays = clips.map((_, i) => new LossyRelay(port, { loss, reorder: loss, seed: 100 + i }));
  const ports = await Promise.all(relays.map((r) => r.bind()));
  const wavs = await Promise.all(clips.map((c) => padded(c, work, leadMs, 48_000)));
  const senders = wavs.map((w, i) => ffmpegSend(w, ports[i]!, { fec: true }));
  await Promise.all(senders.map((s) => once(s, 'exit')));
  // Stop the call once the last packets have been played out (the transcriber then flushes).
  await new Promise((r) => setTimeout(r, 500));
  await mixer.stop();
  for (const r of relays) r.close();
  const doc = JSON.parse(readFileSync(join(out, 'transcript.json'), 'utf8')) as { lines: Array<{ sourceId: string; startMs: number; text: string }> };
  const hyps = new Map<string, string[]>();
  clips.forEach((c, i) => {
    const sourceId = `ssrc-${relays[i]!.senderSsrc}`;
    const lines = doc.lines.filter((l) => l.sourceId === sourceId).sort((a, b) => a.startMs - b.startMs);
    hyps.set(c.id, words(lines.map((l) => l.text).join(' ')));
  });
  const dropped = relays.reduce((a, r) => a + r.dropped, 0);
  // What the jitter buffers did to the audio: every concealed or dropped frame changes what the recognizer hears.
  const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as { lateTicks: number; sources: Array<Record<string, number>> };
  const sum = (k: string): number => stats.sources.reduce((a, src) => a + (src[k] ?? 0), 0);
  const jb = `lost ${sum('lost')}, fec ${sum('fecRecovered')}, concealed ${sum('concealed')}, dropped ${sum('dropped')}, late ${sum('late')}, late ticks ${stats.lateTicks}`;
  progress(`${label}: ${doc.lines.length} transcript line(s)${loss > 0 ? `, ${dropped} packet(s) dropped by the relay` : ''}; jitter buffer: ${jb}`);
  return hyps;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error(`--runs must be an integer 1-20 (got "${values.runs}")`);
  if (!existsSync(join(LIBRIVOX, 'transcription'))) throw new Error(`${LIBRIVOX} is missing: install Debian's pocketsphinx-testdata`);
  const clips = loadClips();
  const work = mkdtempSync(join(tmpdir(), 'mediabot-wer-'));
  const unpadded = new Map<string, string[]>();
  for (const c of clips) unpadded.set(c.id, await recognize(c.wav));
  const conditions = ['direct', 'codec', 'pipeline', 'loss5'] as const;
  const hyps: Record<(typeof conditions)[number], Array<Map<string, string[]>>> = { direct: [], codec: [], pipeline: [], loss5: [] };
  for (let r = 0; r < runs; r++) {
    const lead = leadInMs(r);
    progress(`run ${r + 1}/${runs} (lead-in ${lead} ms): ${clips.length} LibriVox clips direct and through the sender's codec`);
    const direct = new Map<string, string[]>();
    const codec = new Map<string, string[]>();
    for (const c of clips) {
      direct.set(c.id, await recognize(await padded(c, work, lead, 16_000)));
      codec.set(c.id, await codecOnly(await padded(c, work, lead, 48_000), work));
    }
    hyps.direct.push(direct);
    hyps.codec.push(codec);
    progress(`run ${r + 1}/${runs}: through mediabot rtp (clean network)`);
    hyps.pipeline.push(await throughPipeline(clips, work, `pipeline-${r + 1}`, 0, lead));
    progress(`run ${r + 1}/${runs}: through mediabot rtp (5 % loss, 5 % reordering)`);
    hyps.loss5.push(await throughPipeline(clips, work, `loss5-${r + 1}`, 0.05, lead));
  }
  const perRun = (k: (typeof conditions)[number]): number[] => hyps[k].map((h) => round(wer(clips, h)));
  const meanWer = (k: (typeof conditions)[number]): number => hyps[k].reduce((a, h) => a + wer(clips, h), 0) / runs;
  const direct = meanWer('direct');
  const result = {
    direct_wer: round(direct),
    codec_wer: round(meanWer('codec')),
    pipeline_wer: round(meanWer('pipeline')),
    loss5_wer: round(meanWer('loss5')),
    pipeline_minus_direct: round(meanWer('pipeline') - direct),
    pipeline_minus_codec: round(meanWer('pipeline') - meanWer('codec')),
    loss5_minus_direct: round(meanWer('loss5') - direct),
    /** pocketsphinx on the original files, with no lead-in added. */
    direct_wer_unpadded: round(wer(clips, unpadded)),
    runs,
    lead_in_ms: Array.from({ length: runs }, (_, r) => leadInMs(r)),
    direct_wer_runs: perRun('direct'),
    codec_wer_runs: perRun('codec'),
    pipeline_wer_runs: perRun('pipeline'),
    loss5_wer_runs: perRun('loss5'),
    clips: clips.length,
    words: clips.reduce((a, c) => a + c.reference.length, 0),
    // Word errors per clip, one value per run.
    per_clip: clips.map((c) => ({
      id: c.id,
      words: c.reference.length,
      ...Object.fromEntries(conditions.map((k) => [k, hyps[k].map((h) => editDistance(c.reference, h.get(c.id)!))])),
    })),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:wer failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
