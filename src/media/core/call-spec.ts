import type { EncoderSettings } from './codec-types.js';
import type { TalkDetectorOptions } from './talk-detector.js';

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
  /** Listen for RTP on this UDP address (port 0 = any free port). */
  rtp?: { host: string; port: number } | undefined;
  encoder?: Partial<EncoderSettings> | undefined;
  talk?: TalkDetectorOptions | undefined;
  jitter?: { minDepthMs?: number; maxDepthMs?: number; maxConcealedFrames?: number } | undefined;
  hooks?: HookSpec[] | undefined;
  alwaysEncodeMix?: boolean | undefined;
  mixing?: boolean | undefined;
  sourceIdleMs?: number | undefined;
}
