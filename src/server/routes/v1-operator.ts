/**
 * The operator API under /v1 (registered in the bearer-protected /v1 scope): create calls (join by
 * joinWebUrl or place to targets), hang up, play, mute/unmute, participants, transcript,
 * recordings, analytics and Teams' meeting artifacts. GET /v1/calls and GET /v1/calls/:id live in v1-calls.ts.
 * Every route has a JSON schema; schema violations answer 400 MEDIABOT_BAD_REQUEST.
 */
import { dirname } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { MediabotError, isMediabotError } from '../../errors.js';
import type { CallService, TargetInput } from '../../calls/service.js';
import type { PromptStore } from '../../calls/prompts.js';
import { LEAVE_SCHEMA, type LeaveOverride } from '../../calls/leave/input.js';
import { isServableFile, openRegularFileUnder } from '../../util/safe-path.js';
import { sendFile } from '../file-reply.js';
import type { CallRequests } from '../../calls/call-requests.js';
import type { RecordingEntry } from '../../calls/types.js';
import { callCreateSettingsProperties, callJson, callRequestSettings, type CallCreateSettingsBody } from './v1-calls.js';

export interface V1OperatorRoutesOptions {
  calls: CallService;
  /** The recordings folder; files are served only from inside it (default: two levels above each file, <root>/<call>/<file>). */
  recordingsRoot?: string;
  /** dedupKey and joinAt (call-requests.ts); without it, requests carrying them are refused. */
  requests?: CallRequests;
  /** Object storage: uploaded recordings are listed with signed URLs, and downloaded by a redirect once the local copy is gone. */
  storage?: { recordings(callId: string): Promise<Array<RecordingEntry & { url: string; expiresAt: string }>> };
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
} as const;

const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['id'] } as const;

const callSchema = { type: 'object', additionalProperties: true, properties: { id: { type: 'string' }, state: { type: 'string' } } } as const;

const TARGET_KINDS = ['user', 'phone', 'application', 'applicationInstance', 'guest'] as const;

interface CreateBody extends CallCreateSettingsBody {
  joinWebUrl?: string;
  targets?: Array<{ type: (typeof TARGET_KINDS)[number]; id: string; displayName?: string; tenantId?: string }>;
  media?: 'app' | 'service';
  subject?: string;
  tenantId?: string;
  leave?: LeaveOverride;
}

export const v1OperatorRoutes: FastifyPluginAsync<V1OperatorRoutesOptions> = async (app, opts) => {
  const calls = opts.calls;

  app.post<{ Body: CreateBody }>(
    '/calls',
    {
      schema: {
        tags: ['calls'],
        summary: 'Join a Teams meeting by joinWebUrl, or place a call to targets',
        body: {
          type: 'object',
          properties: {
            joinWebUrl: { type: 'string', minLength: 1, maxLength: 4096 },
            targets: {
              type: 'array',
              minItems: 1,
              maxItems: 5,
              items: {
                type: 'object',
                properties: {
                  type: { type: 'string', enum: [...TARGET_KINDS] },
                  id: { type: 'string', minLength: 1, maxLength: 200 },
                  displayName: { type: 'string', maxLength: 200 },
                  tenantId: { type: 'string', maxLength: 100 },
                },
                required: ['type', 'id'],
              },
            },
            media: { type: 'string', enum: ['app', 'service'], description: 'app-hosted media (mediabot mixes, records, transcribes) or service-hosted (Graph plays prompts)' },
            subject: { type: 'string', maxLength: 500 },
            tenantId: { type: 'string', maxLength: 100 },
            leave: LEAVE_SCHEMA,
            ...callCreateSettingsProperties,
          },
        },
        response: { 200: callSchema, 201: callSchema, 202: { type: 'object', additionalProperties: true, properties: { scheduled: { type: 'object', additionalProperties: true } } }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      const b = request.body ?? {};
      if ((b.joinWebUrl === undefined) === (b.targets === undefined)) throw new MediabotError('MEDIABOT_BAD_REQUEST', 'give exactly one of joinWebUrl or targets');
      const known = Object.keys((reply.routeOptions.schema?.body as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      const perCall = callRequestSettings(b as CreateBody & Record<string, unknown>, known);
      const input = {
        ...(b.joinWebUrl !== undefined ? { joinWebUrl: b.joinWebUrl } : {}),
        ...(b.targets !== undefined
          ? { targets: b.targets.map((t): TargetInput => ({ kind: t.type, id: t.id, ...(t.displayName !== undefined ? { displayName: t.displayName } : {}), ...(t.tenantId !== undefined ? { tenantId: t.tenantId } : {}) })) }
          : {}),
        ...(b.media ? { media: b.media } : {}),
        ...(b.tenantId ? { tenantId: b.tenantId } : {}),
        ...(b.subject ? { subject: b.subject } : {}),
        ...(perCall.settings !== undefined ? { settings: perCall.settings } : {}),
        ...(b.leave !== undefined ? { leave: b.leave } : {}),
      };
      if (opts.requests) {
        const r = await opts.requests.create({ ...input, ...perCall });
        if (r.kind === 'scheduled') return reply.code(r.existing ? 200 : 202).send({ scheduled: r.scheduled });
        return reply.code(r.existing ? 200 : 201).send({ ...callJson(r.call), media: calls.mediaMode(r.call.id), leave: calls.leaveSettings(r.call.id), ...(!r.existing && perCall.settings?.metadata !== undefined ? { metadata: perCall.settings.metadata } : {}) });
      }
      if (perCall.dedupKey !== undefined || perCall.joinAt !== undefined) throw new MediabotError('MEDIABOT_BAD_REQUEST', 'dedupKey and joinAt are not available on this server');
      const view = input.joinWebUrl !== undefined ? await calls.join({ ...input, joinWebUrl: input.joinWebUrl }) : await calls.place({ ...input, targets: input.targets! });
      return reply.code(201).send({ ...callJson(view), media: calls.mediaMode(view.id), leave: calls.leaveSettings(view.id) });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/calls/:id',
    { schema: { tags: ['calls'], summary: 'Hang up', params: idParams, response: { 202: { type: 'object', properties: { id: { type: 'string' }, state: { type: 'string' } } }, 404: errorSchema, 409: errorSchema } } },
    async (request, reply) => {
      await calls.hangUp(request.params.id);
      return reply.code(202).send({ id: request.params.id, state: 'terminating' });
    },
  );

  app.post<{ Params: { id: string }; Body: { url?: string; text?: string; voice?: string } }>(
    '/calls/:id/play',
    {
      schema: {
        tags: ['calls'],
        summary: 'Play a prompt (a URL, or text spoken with espeak-ng) and wait until it finished',
        params: idParams,
        body: {
          type: 'object',
          properties: { url: { type: 'string', maxLength: 2048 }, text: { type: 'string', minLength: 1, maxLength: 1000 }, voice: { type: 'string', maxLength: 40 } },
        },
        response: { 200: { type: 'object', properties: { via: { type: 'string' }, promptUrl: { type: ['string', 'null'] }, durationMs: { type: 'number' } } }, 400: errorSchema, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request) => calls.play(request.params.id, request.body ?? {}),
  );

  for (const [path, muted] of [['/calls/:id/mute', true], ['/calls/:id/unmute', false]] as const) {
    app.post<{ Params: { id: string } }>(
      path,
      { schema: { tags: ['calls'], summary: muted ? 'Mute the bot' : 'Unmute the bot', params: idParams, response: { 200: { type: 'object', properties: { muted: { type: 'boolean' }, operationId: { type: ['string', 'null'] } } }, 404: errorSchema, 409: errorSchema } } },
      async (request) => ({ muted, ...(await calls.mute(request.params.id, muted)) }),
    );
  }

  app.get<{ Params: { id: string } }>(
    '/calls/:id/participants',
    { schema: { tags: ['calls'], summary: 'Roster with live media state (talking, level, talk time)', params: idParams, response: { 200: { type: 'object', properties: { participants: { type: 'array', items: { type: 'object', additionalProperties: true } } } }, 404: errorSchema } } },
    async (request) => ({ participants: calls.participants(request.params.id) }),
  );

  app.get<{ Params: { id: string }; Querystring: { format?: 'json' | 'vtt' } }>(
    '/calls/:id/transcript',
    {
      schema: {
        tags: ['calls'],
        summary: 'Transcript (JSON, or WebVTT with ?format=vtt)',
        params: idParams,
        querystring: { type: 'object', properties: { format: { type: 'string', enum: ['json', 'vtt'] } } },
        response: { 404: errorSchema },
      },
    },
    async (request, reply) => {
      if (request.query.format === 'vtt') return reply.type('text/vtt; charset=utf-8').send(calls.transcriptVtt(request.params.id));
      return calls.transcript(request.params.id);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/calls/:id/recordings',
    { schema: { tags: ['calls'], summary: 'Recordings with download URLs', params: idParams, response: { 200: { type: 'object', properties: { recordings: { type: 'array', items: { type: 'object', additionalProperties: true } } } }, 404: errorSchema } } },
    async (request) => {
      const listed = await calls.recordings(request.params.id);
      // Only what the download route would serve: regular files, no symlinks, inside the root.
      const list = [];
      for (const r of listed) {
        const path = await calls.recordingPath(request.params.id, r.file).catch(() => null);
        if (path !== null && (await isServableFile(opts.recordingsRoot ?? dirname(dirname(path)), path))) list.push(r);
      }
      const base = `/v1/calls/${encodeURIComponent(request.params.id)}/recordings/`;
      const local: Array<Record<string, unknown> & { file: string }> = list.map((r) => ({ ...r, url: base + encodeURIComponent(r.file) }));
      if (!opts.storage) return { recordings: local };
      // Uploaded ones carry their signed URL (and are listed even once the local copy is gone).
      const uploaded = new Map((await opts.storage.recordings(request.params.id)).map((r) => [r.file, r]));
      const merged = [...local.map((r) => uploaded.get(r.file) ?? r), ...[...uploaded.values()].filter((u) => !local.some((r) => r.file === u.file))];
      return { recordings: merged.sort((a, b) => a.file.localeCompare(b.file)) };
    },
  );

  app.get<{ Params: { id: string; file: string } }>(
    '/calls/:id/recordings/:file',
    {
      schema: {
        tags: ['calls'],
        summary: 'Download one recording (supports HTTP Range)',
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 }, file: { type: 'string', minLength: 1, maxLength: 300 } }, required: ['id', 'file'] },
        response: { 404: errorSchema, 416: errorSchema },
      },
    },
    async (request, reply) => {
      const path = await calls.recordingPath(request.params.id, request.params.file).catch((err: unknown) => {
        if (!opts.storage || !isMediabotError(err) || err.code !== 'MEDIABOT_NOT_FOUND') throw err;
        return null;
      });
      if (path === null) {
        // The local copy was removed after its upload: a redirect to a signed, time-limited URL.
        const hit = (await opts.storage!.recordings(request.params.id)).find((r) => r.file === request.params.file);
        if (!hit) throw new MediabotError('MEDIABOT_NOT_FOUND', `no recording ${request.params.file} for call ${request.params.id}`);
        return reply.header('cache-control', 'no-store').redirect(hit.url, 302);
      }
      // lstat/realpath/O_NOFOLLOW: a symlink placed in the folder is never followed.
      const file = await openRegularFileUnder(opts.recordingsRoot ?? dirname(dirname(path)), path);
      // HTTP Range (206) so a player can seek.
      return sendFile(request, reply, file, { type: path.endsWith('.wav') ? 'audio/wav' : 'audio/ogg', attachmentName: request.params.file });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/calls/:id/analytics',
    { schema: { tags: ['calls'], summary: 'Talk time, overlap, interruptions (final after the call ended, live before)', params: idParams, response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema } } },
    async (request) => calls.analytics(request.params.id) as Record<string, unknown>,
  );

  app.get<{ Params: { id: string } }>(
    '/calls/:id/meeting-artifacts',
    {
      schema: {
        tags: ['calls'],
        summary: 'Teams\' attendance report and transcript of a meeting call, once fetched (MEDIABOT_FETCH_MEETING_ARTIFACTS or the call\'s fetchMeetingArtifacts)',
        params: idParams,
        response: { 200: { type: 'object', properties: { attendance: { type: ['object', 'null'], additionalProperties: true }, transcriptVtt: { type: ['string', 'null'] } } }, 404: errorSchema },
      },
    },
    async (request) => calls.meetingArtifacts(request.params.id),
  );
};

export interface PromptMediaRoutesOptions {
  prompts: PromptStore;
}

/** GET /media/prompts/<id>.wav: prompts mediabot made, fetched by Graph (so not behind the API token). */
export const promptMediaRoutes: FastifyPluginAsync<PromptMediaRoutesOptions> = async (app, opts) => {
  app.get<{ Params: { file: string } }>(
    '/media/prompts/:file',
    { schema: { hide: true, params: { type: 'object', properties: { file: { type: 'string', maxLength: 80 } }, required: ['file'] } } },
    async (request, reply) => {
      const m = /^([A-Za-z0-9_-]{1,64})\.wav$/.exec(request.params.file);
      if (!m || !(await opts.prompts.exists(m[1]!))) throw new MediabotError('MEDIABOT_NOT_FOUND', 'no such prompt');
      // Public route: never follow a symlink placed in the prompts folder.
      const path = opts.prompts.path(m[1]!);
      const { handle, size } = await openRegularFileUnder(dirname(path), path);
      return reply.type('audio/wav').header('content-length', size).send(handle.createReadStream());
    },
  );
};
