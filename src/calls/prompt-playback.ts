/**
 * Playing a prompt into a call (a URL, or text made into speech): into the call's own media when
 * mediabot hosts it, else through Graph playPrompt.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MediabotError } from '../errors.js';
import { mediaPrompt } from '../graph/calls.js';
import type { CallView } from '../signaling/registry.js';
import { badRequest, type CallTable } from './call-table.js';
import { load48k } from './prompts.js';
import type { CallMedia, CallServiceOptions } from './types.js';

export class PromptPlayback {
  constructor(
    private readonly o: CallServiceOptions,
    private readonly table: CallTable,
  ) {}

  private state(callId: string): CallMedia {
    return this.table.state(callId);
  }

  private requireActive(callId: string): CallView {
    return this.table.requireActive(callId);
  }

  /**
   * Plays a prompt (a URL, or text made into speech) and resolves when it finished.
   * App-hosted media: mediabot plays it through the call's media session (`playPcm`, RTP or ingress
   * alike); service-hosted: Graph playPrompt, awaited to its completion notification.
   */
  async play(callId: string, input: { url?: string; text?: string; voice?: string }): Promise<{ via: 'media' | 'graph'; promptUrl: string | null; durationMs: number }> {
    const hasUrl = input?.url !== undefined;
    const hasText = input?.text !== undefined;
    if (hasUrl === hasText) throw badRequest('give exactly one of url or text');
    if (hasUrl && (typeof input.url !== 'string' || !/^https?:\/\/\S+$/i.test(input.url) || input.url.length > 2048)) throw badRequest('url must be an http(s) URL');
    if (input.voice !== undefined && (typeof input.voice !== 'string' || !/^[a-z0-9+_-]{1,40}$/i.test(input.voice))) throw badRequest('voice must be an espeak-ng voice name');
    const call = this.requireActive(callId);
    if (call.state !== 'established') throw new MediabotError('MEDIABOT_CALL_NOT_ESTABLISHED', `call ${callId} is ${call.state}; prompts need an established call`, { httpStatus: 409 });
    const m = this.state(call.id);
    let promptUrl: string | null = null;
    let file: string | null = null;
    if (hasText) {
      const id = await this.o.prompts.speak(input.text!, input.voice);
      promptUrl = `${this.o.publicBaseUrl()}/media/prompts/${id}.wav`;
      file = this.o.prompts.path(id);
    } else {
      promptUrl = input.url!;
    }
    const t0 = Date.now();
    if (m.mode === 'app' && m.mediaId !== null) {
      this.requireMedia(callId, m);
      let downloaded: string | null = null;
      if (file === null) downloaded = file = await this.o.prompts.download(promptUrl);
      try {
        await this.intoMedia(m, m.mediaId, file);
      } finally {
        if (downloaded !== null) await rm(downloaded, { force: true });
      }
      return { via: 'media', promptUrl, durationMs: Date.now() - t0 };
    }
    await this.o.signaling.operations.playPrompt(call.id, [mediaPrompt(promptUrl)], { timeoutMs: 120_000 });
    return { via: 'graph', promptUrl, durationMs: Date.now() - t0 };
  }

  /**
   * Plays a local audio file (the consent announcement) into an established call's app-hosted media;
   * `started` gets its source id as it starts; resolves once it was played out.
   */
  async playFile(callId: string, file: string, started?: (sourceId: string) => void): Promise<void> {
    const call = this.requireActive(callId);
    const m = this.state(call.id);
    if (call.state !== 'established' || m.mode !== 'app' || m.mediaId === null) throw new MediabotError('MEDIABOT_CALL_NOT_ESTABLISHED', `call ${callId} has no established app-hosted media`, { httpStatus: 409 });
    this.requireMedia(callId, m);
    await this.intoMedia(m, m.mediaId, file, started);
  }

  private requireMedia(callId: string, m: CallMedia): void {
    if (m.mediaId !== null && this.o.media.running(m.mediaId)) return;
    const known = m.mediaId !== null && (m.rtpMedia || this.o.ingress?.scratchDir(m.mediaId) !== undefined);
    throw new MediabotError(known ? 'MEDIABOT_CALL_TERMINATED' : 'MEDIABOT_PROMPT_FAILED', known ? `the media of call ${callId} has ended` : `call ${callId} has no media mediabot can play a prompt into`);
  }

  /**
   * RTP and ingress calls alike: the prompt is a playback source of the call's media session, mixed
   * into what everyone hears and recorded under its own source id.
   */
  private async intoMedia(m: CallMedia, mediaId: string, file: string, started?: (sourceId: string) => void): Promise<void> {
    const samples = await load48k(file);
    // Known before the source appears, so it is labelled the moment it does.
    const sourceId = `prompt-${randomUUID().slice(0, 8)}`;
    m.promptSources.add(sourceId);
    const played = this.o.media.playPcm(mediaId, sourceId, samples, 48_000);
    started?.(sourceId);
    await played;
  }
}
