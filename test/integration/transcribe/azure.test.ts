import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import * as sdk from 'microsoft-cognitiveservices-speech-sdk';
import { describe, expect, it } from 'vitest';
import { isMediabotError } from '../../../src/errors.js';
import { AzureSpeechTranscriber, TICKS_PER_MS, type RecognizerLike } from '../../../src/media/hooks/transcribe/azure.js';
import type { TranscriptResult } from '../../../src/media/hooks/transcribe/types.js';
import { adapterSuite } from './adapter-suite.js';
import { clip, CLIPS, concat, EnergySegmenter, silence } from './audio.js';

/**
 * The Azure Speech service cannot be reached from here. These tests run the
 * adapter against the SDK's real classes up to the network: a real
 * PushAudioInputStream and AudioConfig, a real SpeechRecognizer whose event
 * handlers the adapter installs, and real SpeechRecognitionEventArgs /
 * SpeechRecognitionResult / SessionEventArgs objects built the way the SDK's
 * service recognizer builds them. Only the service session (start/stop of
 * continuous recognition) is stood in: it reads the pushed audio back from the
 * push stream and segments it by energy with real timing, reporting offsets
 * and durations in 100 ns ticks.
 */

interface Boundary {
  pushed: sdk.PushAudioInputStream[];
  recognizers: sdk.SpeechRecognizer[];
  transcriber: AzureSpeechTranscriber;
}

/** With `standIn: false` nothing reads the push stream: the test does, and ends the session itself. */
function boundary(standIn = true): Boundary {
  const pushed: sdk.PushAudioInputStream[] = [];
  const recognizers: sdk.SpeechRecognizer[] = [];
  let lastPush: sdk.PushAudioInputStream | null = null;
  const transcriber = new AzureSpeechTranscriber({
    key: 'test-key',
    region: 'westeurope',
    createPushStream: (format) => {
      lastPush = sdk.AudioInputStream.createPushStream(format);
      pushed.push(lastPush);
      return lastPush;
    },
    createRecognizer: (speech, audio) => {
      const rec = new sdk.SpeechRecognizer(speech, audio);
      recognizers.push(rec);
      const push = lastPush!;
      const sessionId = `session-${pushed.length}`;
      let running = true;
      const runStandIn = async (): Promise<void> => {
        const node = await (push as unknown as { attach(id: string): Promise<{ read(): Promise<{ isEnd: boolean; buffer: ArrayBuffer }> }> }).attach('stand-in');
        let n = 0;
        const seg = new EnergySegmenter((u) => {
          const offset = u.startMs * TICKS_PER_MS;
          const duration = (u.endMs - u.startMs) * TICKS_PER_MS;
          const text = `speech ${u.index + 1}`;
          if (u.final) {
            const json = JSON.stringify({ RecognitionStatus: 'Success', Offset: offset, Duration: duration, DisplayText: text, NBest: [{ Confidence: 0.87, Display: text }] });
            const result = new sdk.SpeechRecognitionResult(`r${n++}`, sdk.ResultReason.RecognizedSpeech, text, duration, offset, 'en-US', undefined, undefined, undefined, json);
            rec.recognized?.(rec as unknown as sdk.Recognizer, new sdk.SpeechRecognitionEventArgs(result, offset, sessionId));
          } else {
            const result = new sdk.SpeechRecognitionResult(`p${n++}`, sdk.ResultReason.RecognizingSpeech, text, duration, offset, 'en-US');
            rec.recognizing?.(rec as unknown as sdk.Recognizer, new sdk.SpeechRecognitionEventArgs(result, offset, sessionId));
          }
        });
        let rest = new Uint8Array(0);
        while (running) {
          const chunk = (await node.read()) as { isEnd: boolean; buffer: ArrayBuffer } | undefined;
          if (chunk === undefined) break;
          if (chunk.buffer !== undefined && chunk.buffer !== null) {
            const all = new Uint8Array(rest.length + chunk.buffer.byteLength);
            all.set(rest);
            all.set(new Uint8Array(chunk.buffer), rest.length);
            let off = 0;
            for (; off + 640 <= all.length; off += 640) seg.frame(new Int16Array(all.buffer.slice(off, off + 640)));
            rest = all.slice(off);
          }
          if (chunk.isEnd) break;
        }
        seg.flush();
        rec.sessionStopped?.(rec as unknown as sdk.Recognizer, new sdk.SessionEventArgs(sessionId));
      };
      const boundaryRec: RecognizerLike = rec;
      // The stand-in for the service session.
      (boundaryRec as { startContinuousRecognitionAsync: RecognizerLike['startContinuousRecognitionAsync'] }).startContinuousRecognitionAsync = (cb) => {
        if (standIn) void runStandIn();
        cb?.();
      };
      (boundaryRec as { stopContinuousRecognitionAsync: RecognizerLike['stopContinuousRecognitionAsync'] }).stopContinuousRecognitionAsync = (cb) => {
        running = false;
        cb?.();
      };
      return boundaryRec;
    },
  });
  return { pushed, recognizers, transcriber };
}

describe('Azure Speech adapter at the SDK boundary', () => {
  adapterSuite({ name: 'azure (SDK boundary, stand-in session)', create: () => boundary().transcriber, recognisesWords: false, slackMs: 200 });

  it('creates a 16 kHz 16-bit mono PCM push stream and the audio arrives in it unchanged', async () => {
    const b = boundary(false);
    const s = b.transcriber.open({ callId: 'c', sourceId: 'alice', sampleRate: 16000 });
    const fmt = await (b.pushed[0] as unknown as { format: Promise<{ samplesPerSec: number; bitsPerSample: number; channels: number }> }).format;
    expect({ rate: fmt.samplesPerSec, bits: fmt.bitsPerSample, channels: fmt.channels }).toEqual({ rate: 16000, bits: 16, channels: 1 });
    // Read it back through a second attached node, independent of the stand-in.
    const pcm = concat(clip(CLIPS[1]!).subarray(0, 16000));
    const node = await (b.pushed[0] as unknown as { attach(id: string): Promise<{ read(): Promise<{ isEnd: boolean; buffer: ArrayBuffer }> }> }).attach('probe');
    const frame = new Int16Array(320);
    for (let f = 0; f * 320 < pcm.length; f++) {
      // The caller reuses its buffer, as the hook does: the adapter must have copied.
      frame.set(pcm.subarray(f * 320, f * 320 + 320));
      s.write(frame, f * 20);
    }
    const ended = s.end();
    const got: number[] = [];
    for (;;) {
      const c = (await node.read()) as { isEnd: boolean; buffer: ArrayBuffer } | undefined;
      if (c?.buffer) got.push(...new Int16Array(c.buffer));
      if (c === undefined || c.isEnd) break;
    }
    const rec = b.recognizers[0]!;
    rec.sessionStopped?.(rec as unknown as sdk.Recognizer, new sdk.SessionEventArgs('probe'));
    await ended;
    expect(got.length).toBe(pcm.length);
    expect(Int16Array.from(got)).toEqual(pcm);
  });

  it('maps recognizing to partials and recognized to finals with tick offsets converted to media ms and NBest confidence', async () => {
    const b = boundary();
    const s = b.transcriber.open({ callId: 'c', sourceId: 'bob', sampleRate: 16000 });
    const results: TranscriptResult[] = [];
    s.onResult((r) => results.push(r));
    const pcm = concat(silence(1000), clip(CLIPS[1]!), silence(1000));
    for (let f = 0; f * 320 < pcm.length; f++) s.write(pcm.subarray(f * 320, f * 320 + 320), 10_000 + f * 20);
    await s.end();
    const finals = results.filter((r) => r.final);
    expect(results.some((r) => !r.final)).toBe(true);
    expect(finals.length).toBeGreaterThan(0);
    expect(finals[0]!.confidence).toBe(0.87);
    expect(finals[0]!.startMs).toBeGreaterThanOrEqual(11_000 - 100);
    expect(finals[0]!.text).toBe('speech 1');
  });

  it('with the real SDK session against an endpoint that refuses connections, fails with a typed error', async () => {
    // A port that is closed: listen, note the port, close.
    const srv = createServer();
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const t = new AzureSpeechTranscriber({ key: 'k', endpoint: `ws://127.0.0.1:${port}/speech/recognition/conversation/cognitiveservices/v1`, endTimeoutMs: 20_000 });
    const s = t.open({ callId: 'c', sourceId: 'x', sampleRate: 16000 });
    let writeErr: unknown = null;
    try {
      for (let f = 0; f < 100; f++) s.write(new Int16Array(320), f * 20);
    } catch (e) {
      writeErr = e;
    }
    let endErr: unknown = null;
    await s.end().catch((e: unknown) => (endErr = e));
    const err = writeErr ?? endErr;
    expect(isMediabotError(err) && err.code).toBe('MEDIABOT_TRANSCRIBER_FAILED');
  }, 60_000);

  it('rejects a configuration without key or region', () => {
    expect(() => new AzureSpeechTranscriber({ key: '', region: 'x' })).toThrow(/key/);
    expect(() => new AzureSpeechTranscriber({ key: 'k' })).toThrow(/region/);
  });
});
