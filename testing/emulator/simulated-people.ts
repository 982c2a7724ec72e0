/**
 * The simulated people on the other end of a call: who they are (the meeting's people, the call's
 * targets, an incoming call's caller), when they join and leave, and the speech each one sends.
 */
import { randomUUID } from 'node:crypto';
import { parseBridgeBlob } from './bridge-sidecar.js';
import type { CallCore } from './call-core.js';
import { obj, firstIdentity, type CallScriptEntry } from './call-support.js';
import type { EmulatorContext } from './context.js';
import { CallMediaSession, parseMediaBlob } from './media-session.js';
import { planMeeting, renderSpeakerTrack, type SpeakerPlan } from './schedule.js';
import { DEFAULT_SCRIPT, SPEECH_RATE, type SpeakerScript } from './speech.js';
import type { EmuCall, Json } from './state.js';

export class SimulatedPeople {
  /** Each call's script: who says what when, for transcript scoring. */
  readonly scripts = new Map<string, CallScriptEntry[]>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly core: CallCore,
  ) {}

  /** Who is on the other end: the meeting's people, the call's targets, or an incoming call's caller. */
  peopleOf(call: EmuCall): { script: SpeakerScript; identity: Json }[] {
    const meeting = this.core.meetingOf(call);
    if (meeting) {
      return meeting.people.map((p) => ({ script: p, identity: { user: { id: randomUUID(), displayName: p.name, tenantId: this.ctx.tenantId } } }));
    }
    const parties: Json[] = [];
    if (call.direction === 'incoming') {
      const src = obj(obj(call.request['source'])?.['identity']);
      if (src) parties.push(src);
    } else if (Array.isArray(call.request['targets'])) {
      for (const t of call.request['targets']) {
        const id = obj(obj(t)?.['identity']);
        if (id) parties.push(id);
      }
    }
    return parties.map((identity, i) => {
      const base = DEFAULT_SCRIPT[i % DEFAULT_SCRIPT.length]!;
      const name = firstIdentity(identity)?.displayName ?? base.name;
      return { script: { ...base, name }, identity };
    });
  }

  async startPeople(call: EmuCall): Promise<void> {
    const people = this.peopleOf(call);
    let speechOk = true;
    try {
      await this.ctx.speechReady;
      await this.ctx.speech.prepare(people.map((p) => p.script));
    } catch (err) {
      speechOk = false;
      this.ctx.logger.warn({ err }, 'emulator speech unavailable; simulated participants will be silent');
    }
    if (call.state === 'terminated') return;
    const clipOf = (s: number, r: number): Int16Array | undefined => {
      const p = people[s];
      const text = p?.script.sentences[r];
      if (!speechOk || !p || text === undefined) return undefined;
      return this.ctx.speech.clip(p.script.voice, text);
    };
    const plans = planMeeting(
      people.map((p) => p.script.sentences),
      (s, r) => {
        const c = clipOf(s, r);
        return c ? (c.length * 1000) / SPEECH_RATE : 2500;
      },
      // People stay a while after their last sentence, as they do in a meeting, so a bot that
      // talks or hangs up at the end still has an audience.
      {
        joinStaggerMs: call.kind === 'peerToPeer' ? 0 : this.ctx.timing.joinStaggerMs,
        tailMs: this.ctx.timing.stayAfterScriptMs,
        leadInMs: this.ctx.timing.speechLeadInMs,
        gapMs: this.ctx.timing.turnGapMs,
        overlapMs: this.ctx.timing.turnOverlapMs,
      },
    );
    const endpoint = call.appHostedMedia ? parseMediaBlob(call.mediaConfig['blob']) : undefined;
    const bridgeBlob = call.appHostedMedia && !endpoint ? parseBridgeBlob(call.mediaConfig['blob']) : undefined;
    if (endpoint) call.media = new CallMediaSession(endpoint, this.ctx.logger);
    else if (bridgeBlob && this.ctx.bridgeSidecar?.mediaFor(bridgeBlob)) call.media = this.ctx.bridgeSidecar.mediaFor(bridgeBlob);
    else if (call.appHostedMedia) this.ctx.logger.info({ callId: call.id }, 'app-hosted media blob carries no RTP endpoint; no media streamed');
    // Only calls with app-hosted media follow the script to the end (people leave); otherwise they stay.
    const scripted = call.appHostedMedia;
    const entries: CallScriptEntry[] = [];
    const elapsed = Date.now() - (call.establishedAt?.getTime() ?? Date.now());
    plans.forEach((plan: SpeakerPlan, i) => {
      const person = people[i]!;
      const entry: CallScriptEntry = {
        participantId: undefined,
        name: person.script.name,
        voice: person.script.voice,
        joinMs: plan.joinMs + elapsed,
        leaveMs: plan.leaveMs + elapsed,
        utterances: plan.utterances.map((u) => ({ text: u.text, startMs: u.startMs + elapsed, endMs: u.endMs + elapsed })),
      };
      entries.push(entry);
      const track = renderSpeakerTrack(plan, (u) => clipOf(u.speaker, u.sentence) ?? new Int16Array(0));
      this.core.after(call, plan.joinMs, () => {
        const p = this.core.makeParticipant(randomUUID(), 'remote', person.identity, person.script.name);
        entry.participantId = p.id;
        call.participants.set(p.id, p);
        this.core.notify.roster(call);
        void call.media?.addParticipant(p.id, p.displayName, track, Number(p.sourceId)).catch((err: unknown) => this.ctx.logger.warn({ err }, 'emulator media participant failed'));
        if (scripted) this.core.after(call, plan.leaveMs - plan.joinMs, () => this.core.leave(call, p.id));
      });
    });
    this.scripts.set(call.id, entries);
  }
}
