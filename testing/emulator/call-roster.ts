/**
 * Participant actions: invite, remove, mute one or all, mixer levels and hold music.
 */
import { randomUUID } from 'node:crypto';
import { fullIdentitySet, odataType } from './builders.js';
import type { CallCore } from './call-core.js';
import { obj, clientContextOf, firstIdentity, SUCCESS, CANCELED } from './call-support.js';
import type { EmulatorContext } from './context.js';
import { badRequest, conflict, notFound } from './graph-error.js';
import { END_REASONS, type EmuCall, type EmuOperation, type Json } from './state.js';

export class CallRoster {
  constructor(
    private readonly ctx: EmulatorContext,
    private readonly core: CallCore,
  ) {}

  invite(call: EmuCall, body: unknown): EmuOperation {
    const b = obj(body);
    const list = b?.['participants'];
    if (!b || !Array.isArray(list) || list.length === 0) throw badRequest('participants must be a non-empty list of invitationParticipantInfo.');
    const parsed = list.map((p) => {
      const id = obj(p)?.['identity'];
      const first = firstIdentity(id);
      if (!first) throw badRequest('Each participant needs an identity.');
      return { info: obj(p)!, identity: obj(id)!, name: first.displayName ?? first.id ?? 'Invited participant' };
    });
    const cc = clientContextOf(b);
    this.core.requireEstablished(call);
    if (call.kind === 'peerToPeer' && parsed.some((p) => p.info['replacesCallId'] === undefined) && call.participants.size > 2) {
      throw conflict('Inviting into a peer-to-peer call that already has two parties needs replacesCallId.');
    }
    const participantsOut = parsed.map((p) => ({
      '@odata.type': odataType('invitationParticipantInfo'),
      endpointType: p.info['endpointType'] ?? null,
      id: null,
      replacesCallId: p.info['replacesCallId'] ?? null,
      identity: fullIdentitySet(this.withTenant(p.identity, call.tenantId)),
    }));
    const op = this.core.newOp(call, 'inviteParticipantsOperation', cc, 'running', { participants: participantsOut });
    this.core.after(call, this.ctx.timing.answerMs, () => {
      if (op.status !== 'running') return;
      for (const p of parsed) {
        const part = this.core.makeParticipant(randomUUID(), 'remote', p.identity, p.name);
        call.participants.set(part.id, part);
      }
      if (call.kind === 'peerToPeer') call.kind = 'groupCall';
      this.core.notify.roster(call);
      this.core.complete(call, op, 'completed', SUCCESS);
    });
    // Deleting the invitee before it joins cancels the invitation.
    op.cancel = () => this.core.complete(call, op, 'failed', CANCELED);
    return op;
  }

  /** Graph resolves a user identity's tenant; the emulator puts in the call's tenant when it is missing. */
  private withTenant(identity: Json, tenantId: string): Json {
    const user = obj(identity['user']);
    return user && user['tenantId'] === undefined ? { ...identity, user: { ...user, tenantId } } : identity;
  }

  removeParticipant(call: EmuCall, participantId: string): void {
    if (participantId === call.myParticipantId) {
      this.core.terminate(call, END_REASONS.removedByParticipant);
      return;
    }
    const p = call.participants.get(participantId);
    if (!p) {
      const pending = [...call.operations.values()].find((o) => o.type === 'inviteParticipantsOperation' && o.status === 'running' && (o.id === participantId || JSON.stringify(o.extra).includes(participantId)));
      if (!pending) throw notFound(`Participant '${participantId}' not found in call '${call.id}'.`);
      pending.cancel?.();
      return;
    }
    this.core.leave(call, participantId);
  }

  muteParticipant(call: EmuCall, participantId: string, body: unknown): EmuOperation {
    const cc = clientContextOf(obj(body) ?? {});
    this.core.requireEstablished(call);
    if (call.kind === 'peerToPeer') throw badRequest('Muting other participants is only supported in group calls.');
    const p = this.core.participant(call, participantId);
    p.isMuted = true;
    const op = this.core.newOp(call, 'muteParticipantOperation', cc, 'completed');
    op.resultInfo = SUCCESS;
    this.core.notify.roster(call);
    return op;
  }

  muteAll(call: EmuCall, body: unknown): EmuOperation {
    const b = obj(body) ?? {};
    const ids = b['participants'];
    if (ids !== undefined && (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string'))) throw badRequest('participants must be a list of participant ids.');
    const cc = clientContextOf(b);
    this.core.requireEstablished(call);
    const chosen = Array.isArray(ids) ? ids.filter((x) => x !== '') : [];
    for (const p of call.participants.values()) {
      if (p.kind === 'bot') continue;
      if (chosen.length === 0 || chosen.includes(p.id)) p.isMuted = true;
    }
    const op = this.core.newOp(call, 'commsOperation', cc, 'completed');
    op.resultInfo = SUCCESS;
    this.core.notify.roster(call);
    return op;
  }

  configureMixer(call: EmuCall, body: unknown): EmuOperation {
    const b = obj(body);
    const levels = b?.['participantMixerLevels'];
    if (!b || !Array.isArray(levels) || !levels.every((l) => typeof obj(l)?.['participant'] === 'string')) throw badRequest('participantMixerLevels must be a list with a participant id each.');
    const cc = clientContextOf(b);
    this.core.requireEstablished(call);
    const op = this.core.newOp(call, 'commsOperation', cc, 'running');
    this.core.after(call, 100, () => this.core.complete(call, op, 'completed', SUCCESS));
    return op;
  }

  holdMusic(call: EmuCall, participantId: string, body: unknown, start: boolean): EmuOperation {
    const b = obj(body) ?? {};
    if (start && b['customPrompt'] !== undefined) {
      const uri = obj(obj(b['customPrompt'])?.['mediaInfo'])?.['uri'];
      if (typeof uri !== 'string') throw badRequest('customPrompt.mediaInfo.uri is required when customPrompt is given.');
    }
    const cc = clientContextOf(b);
    this.core.requireEstablished(call);
    const p = this.core.participant(call, participantId);
    if (p.onHold === start) throw badRequest(start ? 'The participant is already on hold.' : 'The participant is not on hold.');
    const op = this.core.newOp(call, start ? 'startHoldMusicOperation' : 'stopHoldMusicOperation', cc, 'running');
    this.core.after(call, 100, () => {
      p.onHold = start;
      this.core.notify.roster(call);
      this.core.complete(call, op, 'completed', SUCCESS);
    });
    return op;
  }
}
