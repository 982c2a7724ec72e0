import * as sdk from 'microsoft-cognitiveservices-speech-sdk';
import type { Logger } from '../../../logger.js';
import { silentLogger } from '../../../logger.js';
import { BaseTranscriberStream, type Transcriber, type TranscriberStream, type TranscriberStreamInfo } from './types.js';

/** The part of the SDK's SpeechRecognizer the adapter uses. */
export type RecognizerLike = Pick<
  sdk.SpeechRecognizer,
  'recognizing' | 'recognized' | 'canceled' | 'sessionStopped' | 'startContinuousRecognitionAsync' | 'stopContinuousRecognitionAsync' | 'close'
>;

export interface AzureSpeechOptions {
  /** Speech resource key. */
  key: string;
  /** Speech resource region, e.g. `westeurope`. Ignored when `endpoint` is set. */
  region?: string;
  /** A custom endpoint URL (wss://...), e.g. a container or private endpoint. */
  endpoint?: string;
  /** Recognition language. Default `en-US`. */
  language?: string;
  /** How long end() waits for the service's last results. Default 15 000 ms. */
  endTimeoutMs?: number;
  /** Seams for tests and custom setups; the defaults are the SDK's own. */
  createPushStream?: (format: sdk.AudioStreamFormat) => sdk.PushAudioInputStream;
  createRecognizer?: (speech: sdk.SpeechConfig, audio: sdk.AudioConfig) => RecognizerLike;
  logger?: Logger;
}

/** The SDK counts offsets and durations in 100 ns ticks. */
export const TICKS_PER_MS = 10_000;

/**
 * Azure Speech through its JavaScript SDK: per participant, a PushAudioInputStream
 * (16 kHz, 16-bit, mono PCM) feeding a SpeechRecognizer in continuous mode.
 * `recognizing` becomes a partial result, `recognized` (RecognizedSpeech) a final
 * one; result offsets (ticks from the start of the pushed audio) map to media time.
 */
export class AzureSpeechTranscriber implements Transcriber {
  readonly name = 'azure';
  constructor(private readonly opts: AzureSpeechOptions) {
    if (typeof opts.key !== 'string' || opts.key === '') throw new TypeError('Azure Speech needs a key');
    if (opts.endpoint === undefined && (typeof opts.region !== 'string' || opts.region === '')) throw new TypeError('Azure Speech needs a region or an endpoint');
  }

  open(stream: TranscriberStreamInfo): TranscriberStream {
    return new AzureStream(stream, this.opts);
  }
}

/** The 16 kHz, 16-bit, mono PCM format every stream uses. */
export function azurePcmFormat(): sdk.AudioStreamFormat {
  return sdk.AudioStreamFormat.getWaveFormatPCM(16000, 16, 1);
}

class AzureStream extends BaseTranscriberStream {
  private readonly push: sdk.PushAudioInputStream;
  private readonly recognizer: RecognizerLike;
  private readonly stopped: Promise<void>;
  private markStopped: () => void = () => {};
  private readonly logger: Logger;

  constructor(
    info: TranscriberStreamInfo,
    private readonly opts: AzureSpeechOptions,
  ) {
    super(info);
    this.logger = opts.logger ?? silentLogger;
    this.stopped = new Promise<void>((resolve) => {
      this.markStopped = resolve;
    });
    const format = azurePcmFormat();
    this.push = (opts.createPushStream ?? ((f) => sdk.AudioInputStream.createPushStream(f)))(format);
    const audio = sdk.AudioConfig.fromStreamInput(this.push);
    const speech = opts.endpoint !== undefined ? sdk.SpeechConfig.fromEndpoint(new URL(opts.endpoint), opts.key) : sdk.SpeechConfig.fromSubscription(opts.key, opts.region!);
    speech.speechRecognitionLanguage = opts.language ?? 'en-US';
    speech.outputFormat = sdk.OutputFormat.Detailed;
    this.recognizer = (opts.createRecognizer ?? ((s, a) => new sdk.SpeechRecognizer(s, a)))(speech, audio);
    this.recognizer.recognizing = (_s, e) => this.onResultEvent(e, false);
    this.recognizer.recognized = (_s, e) => this.onResultEvent(e, true);
    this.recognizer.canceled = (_s, e) => {
      if (e.reason === sdk.CancellationReason.Error) this.fail(`Azure Speech canceled: ${sdk.CancellationErrorCode[e.errorCode]} ${e.errorDetails}`);
      this.markStopped();
    };
    this.recognizer.sessionStopped = () => this.markStopped();
    this.recognizer.startContinuousRecognitionAsync(
      () => this.logger.debug({ sourceId: info.sourceId }, 'Azure recognition started'),
      (err) => {
        this.fail(`Azure Speech could not start: ${err}`);
        this.markStopped();
      },
    );
  }

  /** Maps one SDK recognition event to a result (exported for the SDK-boundary tests through the recognizer). */
  private onResultEvent(e: sdk.SpeechRecognitionEventArgs, final: boolean): void {
    const r = e.result;
    if (final && r.reason !== sdk.ResultReason.RecognizedSpeech) return;
    if (!final && r.reason !== sdk.ResultReason.RecognizingSpeech) return;
    const startMs = r.offset / TICKS_PER_MS;
    const endMs = (r.offset + r.duration) / TICKS_PER_MS;
    const confidence = final ? detailedConfidence(r.json) : undefined;
    this.emitStreamResult(confidence === undefined ? { text: r.text, final, startMs, endMs } : { text: r.text, final, startMs, endMs, confidence });
  }

  protected sendAudio(pcm16: Int16Array): void {
    // The push stream keeps the ArrayBuffer it is given: hand it a copy.
    this.push.write(pcm16.buffer.slice(pcm16.byteOffset, pcm16.byteOffset + pcm16.byteLength) as ArrayBuffer);
  }

  protected async finish(): Promise<void> {
    this.push.close();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.stopped.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.opts.endTimeoutMs ?? 15_000);
      }),
    ]);
    clearTimeout(timer);
    await new Promise<void>((resolve) => this.recognizer.stopContinuousRecognitionAsync(resolve, () => resolve()));
    this.recognizer.close();
    if (this.failure !== null) throw this.failure;
    if (timedOut) throw new Error('Azure Speech did not end the session in time');
  }
}

/** NBest[0].Confidence from the detailed JSON, when present. */
function detailedConfidence(json: string | undefined): number | undefined {
  if (json === undefined || json === '') return undefined;
  try {
    const c = (JSON.parse(json) as { NBest?: Array<{ Confidence?: unknown }> }).NBest?.[0]?.Confidence;
    return typeof c === 'number' ? c : undefined;
  } catch {
    return undefined;
  }
}
