import { Emitter } from '../util/emitter.js';
import type { MediaEvent } from '../media/hooks/api.js';

/** Events raised by signaling (call state, roster, operations). */
export type SignalingEvent =
  | {
      type: 'call.state';
      callId: string;
      state: string;
      previous: string | null;
      /** Set when terminated: code/subcode, the plain explanation, and reasonCode when mediabot left by its own rule (MEDIABOT_LEFT_ALONE …). */
      reason?: { code: number | null; subcode: number | null; message: string; explanation: string; hint: string; reasonCode?: string | null };
      at: string;
    }
  | {
      type: 'call.roster';
      callId: string;
      participants: Array<{ id: string; displayName: string | null; muted: boolean; inLobby?: boolean }>;
      /** Participant ids added / removed by this update (absent when not known). */
      added?: string[];
      removed?: string[];
      at: string;
    }
  | { type: 'call.operation'; callId: string; operationId: string; kind: string; status: 'running' | 'completed' | 'failed'; at: string; error?: string }
  | { type: 'call.tone'; callId: string; tone: string; at: string }
  | { type: 'call.incoming'; callId: string; action: 'answer' | 'reject' | 'redirect'; compliance: boolean; at: string }
  | { type: 'call.contentSharing'; callId: string; change: 'started' | 'updated' | 'ended'; sessionIds: string[]; at: string }
  | { type: 'callRecord.stored'; callRecordId: string; version: number | null; at: string };

export type MediabotEvent = MediaEvent | SignalingEvent;

export type EventListener = (event: MediabotEvent) => void;

/** The in-process typed event bus: one Emitter of every event. */
export class EventBus extends Emitter<MediabotEvent> {}
