import type { EncoderSettings } from '../codec/types.js';
import type { TalkDetectorOptions } from '../core/talk-detector.js';
import type { RtpIoMode } from './rtp/rtp-io.js';

/**
 * A hook to attach inside a media thread, described so it can cross the thread
 * boundary: a built-in by name, or a user module exporting a hook factory.
 */
export type HookSpec =
  | { builtin: string; options?: Record<string, unknown> }
  | { module: string; export?: string; options?: Record<string, unknown> };

/** Everything a media thread needs to run one call. Plain data (structured-clone safe). */
export interface CallSpec {
  callId: string;
  /**
   * Listen for RTP on this UDP address (port 0 = any free port). `allowedPeers` (IPs or CIDRs: the
   * negotiated peers) and the participant limits guard who becomes a participant (rtp/source-guard.ts).
   */
  rtp?: { host: string; port: number; allowedPeers?: string[] | undefined; maxParticipants?: number | undefined; newSourcesPerSecond?: number | undefined } | undefined;
  /** Socket I/O of an RTP call (session/rtp/rtp-io.ts): auto (default), batched or dgram. */
  rtpIo?: RtpIoMode | undefined;
  encoder?: Partial<EncoderSettings> | undefined;
  talk?: TalkDetectorOptions | undefined;
  jitter?: { minDepthMs?: number; maxDepthMs?: number; maxConcealedFrames?: number } | undefined;
  hooks?: HookSpec[] | undefined;
  alwaysEncodeMix?: boolean | undefined;
  mixing?: boolean | undefined;
  /**
   * With `mixing: false`: RTP sources decode straight to the 16 kHz speech tap, about a third
   * cheaper per stream; hooks then see a silent `pcm48` (so a 48 kHz WAV recording is refused).
   */
  speechOnly?: boolean | undefined;
  sourceIdleMs?: number | undefined;
  /** Start with the call's recording and transcription paused (HookRunner.setRecordingPaused); default false. */
  recordingPaused?: boolean | undefined;
  /** How long ending the call waits for hooks (transcribers) to drain. Default 30 s. */
  hookStopTimeoutMs?: number | undefined;
  /** PCM ingress (ACS, media bridge): sources fed by MediaThreadPool.pushPcm, and the way back. */
  pcm?: PcmCallOptions | undefined;
}

export interface PcmCallOptions {
  /** Play-out delay of each PCM source behind its first frame, ms. Default 60. */
  playoutDelayMs?: number | undefined;
  /** Bound of each PCM source's queue, ms of audio. Default 1000. */
  maxQueueMs?: number | undefined;
  /**
   * The call's outbound audio posted to the main thread each tick (16 kHz, 20 ms, non-silent frames only;
   * MediaThreadPool.onOutbound): 'mix' = every source; 'mix-minus' = every source except the PCM ingress
   * sources themselves (what the bot says into the call: RTP participants, playback sources). Default 'off'.
   */
  outbound?: 'off' | 'mix' | 'mix-minus' | undefined;
  /**
   * Encode each PCM source's frames to Opus (with `encoder` settings), so Ogg Opus recordings of
   * PCM sources hold their audio (the recorder writes packets as received). Default false.
   */
  encodeOpus?: boolean | undefined;
}
