/**
 * Call actions that run as operations: self mute, recording status, gallery view, prompts,
 * recordResponse (with its recordings), tones (subscribe, send, receive) and cancelling media.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { odataType } from './builders.js';
import type { CallCore } from './call-core.js';
import { obj, clientContextOf, TONES, SUCCESS } from './call-support.js';
import type { EmulatorContext } from './context.js';
import { badRequest, GraphErrorReply } from './graph-error.js';
import type { SimulatedPeople } from './simulated-people.js';
import { DEFAULT_SCRIPT, SPEECH_RATE } from './speech.js';
import { encodeWavPcm16 } from '../../src/media/wire/wav.js';
import type { EmuCall, EmuOperation } from './state.js';

const MAX_RECORDINGS = 200;

interface Recording {
  token: string;
  wav: Buffer;
}

export class CallOperations {
  /** recordResponse audio, served at /_emulator/recordings/{id} with its access token. */
  readonly recordings = new Map<string, Recording>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly core: CallCore,
    private readonly people: SimulatedPeople,
  ) {}

  /** mute / unmute the bot itself. */
  setSelfMute(call: EmuCall, body: unknown, muted: boolean): EmuOperation {
    const cc = clientContextOf(obj(body) ?? {});
    this.core.requireEstablished(call);
    const me = call.participants.get(call.myParticipantId);
    if (me) me.isMuted = muted;
    const op = this.core.newOp(call, muted ? 'muteParticipantOperation' : 'unmuteParticipantOperation', cc, 'completed', {});
    op.resultInfo = SUCCESS;
    this.core.notify.roster(call);
    return op;
  }

  changeScreenSharingRole(call: EmuCall, body: unknown): void {
    const role = obj(body)?.['role'];
    if (role !== 'viewer' && role !== 'sharer') throw badRequest('role must be viewer or sharer.');
    this.core.requireEstablished(call);
    if (!call.appHostedMedia || call.kind === 'peerToPeer') throw badRequest('changeScreenSharingRole needs a group call with application-hosted media.');
    const me = call.participants.get(call.myParticipantId);
    if (me) me.screenSharingRole = role;
    this.core.notify.roster(call);
  }

  updateRecordingStatus(call: EmuCall, body: unknown): EmuOperation {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be a JSON object.');
    const status = b['status'];
    if (!['notRecording', 'recording', 'failed'].includes(String(status))) throw badRequest('status must be notRecording, recording or failed.');
    const cc = clientContextOf(b);
    this.core.requireEstablished(call);
    // As Graph: only a call that a compliance recording policy brought to the bot may set it.
    if (!call.policyBasedRecording) throw new GraphErrorReply(403, '8506', 'API call not allowed for non-Compliance Recording call');
    call.recordingStatus = String(status);
    const op = this.core.newOp(call, 'updateRecordingStatusOperation', cc, 'completed');
    op.resultInfo = SUCCESS;
    return op;
  }

  addLargeGalleryView(call: EmuCall, body: unknown): EmuOperation {
    const cc = clientContextOf(obj(body) ?? {});
    this.core.requireEstablished(call);
    const op = this.core.newOp(call, 'addLargeGalleryViewOperation', cc, 'running');
    this.core.after(call, 100, () => this.core.complete(call, op, 'completed', SUCCESS));
    return op;
  }

  async playPrompt(call: EmuCall, body: unknown): Promise<EmuOperation> {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be a JSON object.');
    const uris = this.promptUris(b['prompts'], true);
    const cc = clientContextOf(b);
    this.core.requireEstablished(call);
    this.requireServiceMedia(call, 'playPrompt');
    const op = this.core.newOp(call, 'playPromptOperation', cc, 'running');
    const durations = await Promise.all(uris.map((u) => this.promptDuration(u)));
    const total = durations.reduce((a, d) => a + d, 0);
    this.core.runCancelable(call, op, total, () => this.core.complete(call, op, 'completed', SUCCESS));
    return op;
  }

  async recordResponse(call: EmuCall, body: unknown): Promise<EmuOperation> {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be a JSON object.');
    const uris = b['prompts'] === undefined ? [] : this.promptUris(b['prompts'], false);
    const maxRecord = b['maxRecordDurationInSeconds'] ?? 5;
    if (typeof maxRecord !== 'number' || maxRecord < 1 || maxRecord > 300) throw badRequest('maxRecordDurationInSeconds must be 1..300.');
    for (const k of ['initialSilenceTimeoutInSeconds', 'maxSilenceTimeoutInSeconds']) {
      const v = b[k];
      if (v !== undefined && (typeof v !== 'number' || v < 1 || v > 300)) throw badRequest(`${k} must be 1..300.`);
    }
    const stopTones = b['stopTones'];
    if (stopTones !== undefined && (!Array.isArray(stopTones) || !stopTones.every((t) => typeof t === 'string'))) throw badRequest('stopTones must be a list of strings.');
    const cc = clientContextOf(b);
    this.core.requireEstablished(call);
    this.requireServiceMedia(call, 'recordResponse');
    const op = this.core.newOp(call, 'recordOperation', cc, 'running', { recordingLocation: null, recordingAccessToken: null, completionReason: null });
    const promptMs = (await Promise.all(uris.map((u) => this.promptDuration(u)))).reduce((a, d) => a + d, 0) + (b['playBeep'] === true ? 200 : 0);
    // What the caller "says": the first simulated person's first sentence, cut at the max duration.
    const clip = this.responseClip(call);
    const maxSamples = Math.round(maxRecord * SPEECH_RATE);
    const samples = clip.subarray(0, Math.min(clip.length, maxSamples));
    const hitMax = clip.length >= maxSamples;
    const recordMs = (samples.length * 1000) / SPEECH_RATE;
    this.core.runCancelable(call, op, promptMs + recordMs, () => {
      const recId = randomUUID();
      const token = randomBytes(24).toString('base64url');
      this.recordings.set(recId, { token, wav: encodeWavPcm16(samples, SPEECH_RATE) });
      while (this.recordings.size > MAX_RECORDINGS) this.recordings.delete(this.recordings.keys().next().value!);
      this.core.complete(
        call,
        op,
        'completed',
        hitMax ? { code: 200, subcode: 8515, message: 'Action completed, max record duration reached.' } : SUCCESS,
        { recordingLocation: `${this.ctx.baseUrl}/_emulator/recordings/${recId}`, recordingAccessToken: token, completionReason: hitMax ? 'maxRecordDurationReached' : 'operationCompleted' },
      );
    }, { recordingLocation: '', recordingAccessToken: '', completionReason: 'operationCanceled' });
    return op;
  }

  private responseClip(call: EmuCall): Int16Array {
    const people = this.people.peopleOf(call);
    const first = people[0]?.script ?? DEFAULT_SCRIPT[0]!;
    try {
      return this.ctx.speech.clip(first.voice, first.sentences[0]!);
    } catch {
      return new Int16Array(SPEECH_RATE); // one second of silence when speech is unavailable
    }
  }

  private requireServiceMedia(call: EmuCall, action: string): void {
    if (call.appHostedMedia) throw badRequest(`${action} is only supported for calls with service-hosted media.`);
  }

  private promptUris(prompts: unknown, required: boolean): string[] {
    if (!Array.isArray(prompts) || (required && prompts.length === 0)) throw badRequest('prompts must be a non-empty list of mediaPrompt.');
    return prompts.map((p) => {
      const uri = obj(obj(p)?.['mediaInfo'])?.['uri'];
      if (typeof uri !== 'string' || !/^https?:\/\//.test(uri)) throw badRequest('Each prompt needs mediaInfo.uri (an http(s) URL).');
      return uri;
    });
  }

  /** The WAV's duration when the URI serves one within 1 s; otherwise the default prompt length. */
  private async promptDuration(uri: string): Promise<number> {
    try {
      const res = await fetch(uri, { signal: AbortSignal.timeout(1000) });
      if (!res.ok) return this.ctx.timing.defaultPromptMs;
      const buf = Buffer.from(await res.arrayBuffer());
      if (buf.length < 44 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') return this.ctx.timing.defaultPromptMs;
      const byteRate = buf.readUInt32LE(28);
      return byteRate > 0 ? Math.round(((buf.length - 44) / byteRate) * 1000) : this.ctx.timing.defaultPromptMs;
    } catch {
      return this.ctx.timing.defaultPromptMs;
    }
  }

  subscribeToTone(call: EmuCall, body: unknown): EmuOperation {
    const cc = clientContextOf(obj(body) ?? {});
    this.core.requireEstablished(call);
    call.toneSubscribed = true;
    const op = this.core.newOp(call, 'subscribeToToneOperation', cc, 'completed');
    op.resultInfo = SUCCESS;
    return op;
  }

  sendDtmfTones(call: EmuCall, body: unknown): EmuOperation {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be a JSON object.');
    const tones = b['tones'];
    if (!Array.isArray(tones) || tones.length === 0 || !tones.every((t) => TONES.has(String(t)))) throw badRequest('tones must be a non-empty list of tone0..tone9, star, pound, a..d, flash.');
    const delay = b['delayBetweenTonesMs'] ?? 0;
    if (typeof delay !== 'number' || delay < 0 || delay > 10_000) throw badRequest('delayBetweenTonesMs must be 0..10000.');
    const cc = clientContextOf(b);
    this.core.requireEstablished(call);
    const op = this.core.newOp(call, 'sendDtmfTonesOperation', cc, 'running', { completionReason: null });
    const ms = tones.length * this.ctx.timing.toneMs + Math.max(0, tones.length - 1) * delay;
    // sendDtmfTones reports cancellation as completed + mediaOperationCanceled (see the docs' example).
    this.core.runCancelable(call, op, ms, () => this.core.complete(call, op, 'completed', SUCCESS, { completionReason: 'completedSuccessfully' }), { completionReason: 'mediaOperationCanceled' }, 'completed');
    return op;
  }

  cancelMediaProcessing(call: EmuCall, body: unknown): EmuOperation {
    const cc = clientContextOf(obj(body) ?? {});
    this.core.requireEstablished(call);
    for (const op of call.operations.values()) if (op.status === 'running' && op.cancel) op.cancel();
    const op = this.core.newOp(call, 'cancelMediaProcessingOperation', cc, 'completed');
    op.resultInfo = SUCCESS;
    return op;
  }

  /** A DTMF tone from the simulated far end; delivered only after subscribeToTone. */
  sendTone(call: EmuCall, tone: string): boolean {
    if (!TONES.has(tone)) throw badRequest(`Unknown tone '${tone}'.`);
    if (!call.toneSubscribed || call.state !== 'established') return false;
    call.toneSequence += 1;
    call.toneInfo = { '@odata.type': odataType('toneInfo'), sequenceId: call.toneSequence, tone };
    this.core.notify.call(call);
    return true;
  }
}
