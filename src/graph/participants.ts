/** /communications/calls/{id}/participants: roster, invite, mute, remove, hold music, and beta muteAll/configureMixer. */
import type { CommsOperation, InviteParticipantsOperation, Participant } from '@microsoft/microsoft-graph-types';
import type { GraphRequester } from './http.js';
import { invalidArgument, segment } from './errors.js';
import type { CommsInvitationParticipantInfo } from './identities.js';
import type { ClientContextBody, MediaPromptWire } from './calls.js';
import { action, entity, page, rejectingApi, type ActionResult, type Page } from './result.js';

export interface InviteBody extends ClientContextBody {
  /** Up to 5 VoIP users (or one PSTN number); `replacesCallId` on the first moves an existing P2P call in. */
  participants: CommsInvitationParticipantInfo[];
}

export interface StartHoldMusicBody extends ClientContextBody {
  customPrompt?: MediaPromptWire;
}

export interface MuteAllBody extends ClientContextBody {
  participants?: string[];
}

export interface ConfigureMixerBody extends ClientContextBody {
  participantMixerLevels: Array<{
    participant: string;
    exclusive?: boolean;
    ducking?: { rampActive?: number; rampInactive?: number; lowerLevel?: number; upperLevel?: number };
    sourceLevels?: Array<{ participant: string; level?: number; duckOthers?: boolean; ducking?: unknown }>;
  }>;
}

const base = (callId: string): string => `/communications/calls/${segment('callId', callId)}/participants`;
const one = (callId: string, participantId: string): string => `${base(callId)}/${segment('participantId', participantId)}`;

export function createParticipantsApi(http: GraphRequester) {
  return rejectingApi({
    list: (callId: string): Promise<Page<Participant>> => page<Participant>(http, base(callId)),
    get: (callId: string, participantId: string): Promise<Participant> => entity<Participant>(http, 'GET', one(callId, participantId)),
    invite: (callId: string, body: InviteBody): Promise<ActionResult<InviteParticipantsOperation>> => {
      if (!Array.isArray(body?.participants) || body.participants.length === 0) throw invalidArgument('participants must be a non-empty array');
      return action<InviteParticipantsOperation>(http, 'POST', `${base(callId)}/invite`, body);
    },
    mute: (callId: string, participantId: string, body: ClientContextBody = {}): Promise<ActionResult<CommsOperation>> =>
      action<CommsOperation>(http, 'POST', `${one(callId, participantId)}/mute`, body),
    /** Removes a participant (or cancels a pending invite): DELETE (204). */
    delete: (callId: string, participantId: string): Promise<ActionResult<undefined>> => action<undefined>(http, 'DELETE', one(callId, participantId)),
    startHoldMusic: (callId: string, participantId: string, body: StartHoldMusicBody = {}): Promise<ActionResult<CommsOperation>> =>
      action<CommsOperation>(http, 'POST', `${one(callId, participantId)}/startHoldMusic`, body),
    stopHoldMusic: (callId: string, participantId: string, body: ClientContextBody = {}): Promise<ActionResult<CommsOperation>> =>
      action<CommsOperation>(http, 'POST', `${one(callId, participantId)}/stopHoldMusic`, body),
    /** Beta. The doc example uses the legacy /app/calls path; this sends the current /communications/calls one. */
    muteAll: (callId: string, body: MuteAllBody = {}): Promise<ActionResult<CommsOperation>> =>
      action<CommsOperation>(http, 'POST', `${base(callId)}/muteAll`, body, { version: 'beta' }),
    /** Beta. */
    configureMixer: (callId: string, body: ConfigureMixerBody): Promise<ActionResult<CommsOperation>> => {
      if (!Array.isArray(body?.participantMixerLevels)) throw invalidArgument('participantMixerLevels must be an array');
      return action<CommsOperation>(http, 'POST', `${base(callId)}/configureMixer`, body, { version: 'beta' });
    },
  });
}

export type ParticipantsApi = ReturnType<typeof createParticipantsApi>;
