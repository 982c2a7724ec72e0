/**
 * Teams' own meeting artifacts, produced when a bot's call in a simulated meeting ends: the
 * attendance report (who was there, from the roster), the transcript (WebVTT, from what the
 * simulated people said) and the recording (MP4, their speech mixed, encoded by ffmpeg on first
 * download). Shapes follow the Graph docs (attendanceReport, attendanceRecord, callTranscript,
 * callRecording); each new transcript and recording is announced to matching subscriptions.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediabotError } from '../../src/errors.js';
import type { CallScriptEntry } from './call-support.js';
import type { EmulatorContext } from './context.js';
import { SPEECH_RATE } from './speech.js';
import type { EmuCall, EmuMeeting, Json } from './state.js';
import type { SubscriptionStore } from './subscriptions.js';

export interface EmuAttendanceReport {
  id: string;
  meetingId: string;
  start: Date;
  end: Date;
  records: Json[];
}

export interface EmuArtifact {
  kind: 'transcript' | 'recording';
  id: string;
  meetingId: string;
  callId: string;
  organizerId: string;
  tenantId: string;
  createdAt: Date;
  endAt: Date;
  contentCorrelationId: string;
  /** The utterances, relative to the start of the call. */
  utterances: { name: string; voice: string; text: string; startMs: number; endMs: number }[];
}

const MAX_PER_MEETING = 20;
/** Recordings are cut here: the emulator's meetings are short, and ffmpeg's time is the test's. */
const MAX_RECORDING_MS = 120_000;

const iso = (d: Date): string => d.toISOString();

function vttTime(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(Math.floor(ms % 1000)).padStart(3, '0')}`;
}

/** WebVTT as Teams writes it: one cue per utterance, the speaker in a voice tag. */
export function transcriptVtt(a: EmuArtifact): string {
  const cues = a.utterances.map((u, i) => `${a.contentCorrelationId}/${i + 1}\n${vttTime(u.startMs)} --> ${vttTime(u.endMs)}\n<v ${u.name}>${u.text}</v>`);
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}

export class MeetingArtifacts {
  private readonly reports = new Map<string, EmuAttendanceReport[]>();
  private readonly artifacts = new Map<string, EmuArtifact[]>();
  private readonly mp4 = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly subscriptions: SubscriptionStore,
  ) {}

  reportsOf(meetingId: string): EmuAttendanceReport[] {
    return this.reports.get(meetingId) ?? [];
  }

  artifactsOf(meetingId: string, kind: EmuArtifact['kind']): EmuArtifact[] {
    return (this.artifacts.get(meetingId) ?? []).filter((a) => a.kind === kind);
  }

  /** Every artifact of an organizer's meetings (getAllTranscripts / getAllRecordings). */
  allOf(organizerId: string, kind: EmuArtifact['kind'], from?: Date, to?: Date): EmuArtifact[] {
    return [...this.artifacts.values()]
      .flat()
      .filter((a) => a.kind === kind && a.organizerId === organizerId && (from === undefined || a.createdAt >= from) && (to === undefined || a.createdAt <= to))
      .sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  }

  /** A bot's call in a meeting ended: the meeting's artifacts appear after the records delay. */
  callEnded(call: EmuCall, meeting: EmuMeeting | undefined, script: readonly CallScriptEntry[]): void {
    if (!meeting || !call.establishedAt || !call.endedAt) return;
    const start = call.establishedAt;
    const end = call.endedAt;
    const durationMs = end.getTime() - start.getTime();
    const people = [...call.departed, ...call.participants.values()].filter((p) => p.kind === 'remote');
    const report: EmuAttendanceReport = {
      id: randomUUID(),
      meetingId: meeting.id,
      start,
      end,
      records: people.map((p) => {
        const join = p.joinedAt;
        const leave = p.leftAt ?? end;
        const seconds = Math.max(0, Math.round((leave.getTime() - join.getTime()) / 1000));
        const userId = typeof (p.identity['user'] as Json | undefined)?.['id'] === 'string' ? ((p.identity['user'] as Json)['id'] as string) : p.id;
        return {
          id: userId,
          emailAddress: `${p.displayName.toLowerCase().replace(/[^a-z]+/g, '.')}@contoso.example`,
          totalAttendanceInSeconds: seconds,
          role: 'Attendee',
          identity: { id: userId, displayName: p.displayName, tenantId: meeting.tenantId },
          attendanceIntervals: [{ joinDateTime: iso(join), leaveDateTime: iso(leave), durationInSeconds: seconds }],
        };
      }),
    };
    const utterances = script
      .flatMap((e) => e.utterances.map((u) => ({ name: e.name, voice: e.voice, text: u.text, startMs: u.startMs, endMs: u.endMs })))
      .filter((u) => u.startMs < durationMs)
      .sort((a, b) => a.startMs - b.startMs);
    const base = { meetingId: meeting.id, callId: call.id, organizerId: meeting.organizerId, tenantId: meeting.tenantId, createdAt: new Date(), endAt: end, utterances };
    const transcript: EmuArtifact = { ...base, kind: 'transcript', id: randomUUID(), contentCorrelationId: randomUUID() };
    const recording: EmuArtifact = { ...base, kind: 'recording', id: randomUUID(), contentCorrelationId: transcript.contentCorrelationId };
    setTimeout(() => {
      push(this.reports, meeting.id, report);
      push(this.artifacts, meeting.id, transcript);
      push(this.artifacts, meeting.id, recording);
      for (const a of [transcript, recording]) this.announce(a);
    }, this.ctx.timing.callRecordDelayMs).unref();
  }

  /** callTranscript / callRecording as Graph returns them. */
  resource(a: EmuArtifact, graphUrl: string, userId: string): Json {
    const base = `${graphUrl}/v1.0/users/${userId}/onlineMeetings/${a.meetingId}/${a.kind}s/${a.id}`;
    return {
      '@odata.type': a.kind === 'transcript' ? '#microsoft.graph.callTranscript' : '#microsoft.graph.callRecording',
      id: a.id,
      meetingId: a.meetingId,
      callId: a.callId,
      contentCorrelationId: a.contentCorrelationId,
      createdDateTime: iso(a.createdAt),
      endDateTime: iso(a.endAt),
      [a.kind === 'transcript' ? 'transcriptContentUrl' : 'recordingContentUrl']: `${base}/content`,
      meetingOrganizer: {
        application: null,
        device: null,
        user: { '@odata.type': '#microsoft.graph.teamworkUserIdentity', id: a.organizerId, displayName: null, userIdentityType: 'aadUser', tenantId: a.tenantId },
      },
    };
  }

  reportResource(r: EmuAttendanceReport, withRecords: boolean): Json {
    return {
      id: r.id,
      totalParticipantCount: r.records.length,
      meetingStartDateTime: iso(r.start),
      meetingEndDateTime: iso(r.end),
      ...(withRecords ? { attendanceRecords: r.records } : {}),
    };
  }

  /** The recording's MP4: the utterances mixed at their times, AAC in MP4 (ffmpeg), made once. */
  recordingContent(a: EmuArtifact): Promise<Buffer> {
    let p = this.mp4.get(a.id);
    if (!p) {
      p = this.encode(a);
      this.mp4.set(a.id, p);
      p.catch(() => this.mp4.delete(a.id));
    }
    return p;
  }

  private async encode(a: EmuArtifact): Promise<Buffer> {
    const totalMs = Math.min(MAX_RECORDING_MS, Math.max(1000, a.endAt.getTime() - a.createdAt.getTime(), ...a.utterances.map((u) => u.endMs)));
    const pcm = new Int16Array(Math.round((totalMs * SPEECH_RATE) / 1000));
    for (const u of a.utterances) {
      let clip: Int16Array;
      try {
        clip = this.ctx.speech.clip(u.voice, u.text);
      } catch {
        continue; // speech not rendered: silence there
      }
      const at = Math.round((u.startMs * SPEECH_RATE) / 1000);
      for (let i = 0; i < clip.length && at + i < pcm.length; i++) pcm[at + i] = Math.max(-32768, Math.min(32767, pcm[at + i]! + clip[i]!));
    }
    const dir = await mkdtemp(join(tmpdir(), 'mediabot-emulator-rec-'));
    const out = join(dir, 'recording.mp4');
    try {
      await new Promise<void>((resolve, reject) => {
        const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 's16le', '-ar', String(SPEECH_RATE), '-ac', '1', '-i', 'pipe:0', '-c:a', 'aac', '-b:a', '64k', '-movflags', '+faststart', '-f', 'mp4', out], { stdio: ['pipe', 'ignore', 'pipe'] });
        let err = '';
        ff.stderr.on('data', (c: Buffer) => (err += c.toString()));
        ff.on('error', (e) => reject(new MediabotError('MEDIABOT_EMULATOR_SPEECH_FAILED', `ffmpeg could not start: ${e.message}`)));
        ff.on('close', (code) => (code === 0 ? resolve() : reject(new MediabotError('MEDIABOT_EMULATOR_SPEECH_FAILED', `ffmpeg exited ${code}: ${err.slice(0, 300)}`))));
        ff.stdin.end(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      });
      return await readFile(out);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private announce(a: EmuArtifact): void {
    const collection = `${a.kind}s`;
    const resource = `communications/onlineMeetings('${a.meetingId}')/${collection}('${a.id}')`;
    this.subscriptions.notify(
      (s) => {
        const t = s.target;
        if ((t.kind !== 'transcripts' && t.kind !== 'recordings') || t.kind !== collection) return false;
        return (t.meetingId === undefined || t.meetingId === a.meetingId) && (t.organizerId === undefined || t.organizerId === a.organizerId) && s.tenantId.toLowerCase() === a.tenantId.toLowerCase();
      },
      () => ({
        resource,
        resourceData: { id: a.id, '@odata.type': a.kind === 'transcript' ? '#Microsoft.Graph.callTranscript' : '#Microsoft.Graph.callRecording', '@odata.id': resource },
      }),
      'created',
      () => this.resource(a, this.ctx.graphUrl, a.organizerId),
    );
  }
}

function push<T>(m: Map<string, T[]>, key: string, v: T): void {
  const list = m.get(key) ?? [];
  list.push(v);
  while (list.length > MAX_PER_MEETING) list.shift();
  m.set(key, list);
}
