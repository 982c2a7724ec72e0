/**
 * The history of ended calls (registered under the authenticated /v1 scope), read from what is
 * persisted so it survives restarts:
 *
 *   GET /v1/history?limit=&before=             ended calls, the most recently ended first
 *   GET /v1/history/:id                        one ended call: end reason, speakers with talk time,
 *                                              talk segments and overlaps, transcript, recordings,
 *                                              files, webhook deliveries
 *   GET /v1/history/:id/files/:name            an artifact file (call.json, transcript.vtt, ...)
 *   GET /v1/history/:id/recordings/:file       a recording (HTTP Range: seekable)
 *
 * and, outside /v1, the same files through the signed, expiring links the summary hands out
 * (`historyFileRoutes`: GET /files/history/:id/:kind/:name?expires=&sig=) for <audio> and downloads.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { isMediabotError } from '../../errors.js';
import type { CallHistory, HistoryFileKind } from '../../calls/history.js';
import { openRegularFileUnder } from '../../util/safe-path.js';
import { sendFile } from '../file-reply.js';
import type { FileLinks } from '../file-links.js';

export interface HistoryRoutesOptions {
  history: CallHistory;
  /**
   * Where a file lives when its local copy is gone (object storage): a URL to redirect to, or null.
   * Without it such a file is 404.
   */
  remoteUrl?: (callId: string, kind: HistoryFileKind, name: string) => Promise<string | null>;
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
} as const;
const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['id'] } as const;
const fileParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 }, name: { type: 'string', minLength: 1, maxLength: 300 } },
  required: ['id', 'name'],
} as const;
const linkSchema = { type: 'object', properties: { url: { type: 'string' }, expiresAt: { type: 'string' } } } as const;
const endReasonSchema = { type: ['object', 'null'], additionalProperties: true, description: 'code, subcode, message, terminationReason, explanation, hint, reasonCode' } as const;
const endedCallProperties = {
  id: { type: 'string' },
  mediaMode: { type: ['string', 'null'] },
  createdAt: { type: ['string', 'null'] },
  endedAt: { type: 'string' },
  durationMs: { type: ['integer', 'null'] },
  people: { type: 'array', items: { type: 'string' } },
  endReason: endReasonSchema,
  talkMs: { type: 'integer' },
  transcriptLines: { type: 'integer' },
  recordingFiles: { type: 'integer' },
} as const;
const summarySchema = {
  type: 'object',
  properties: {
    ...endedCallProperties,
    recordings: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          file: { type: 'string' },
          sourceId: { type: ['string', 'null'] },
          speaker: { type: 'string' },
          format: { type: 'string' },
          startMediaTimeMs: { type: 'integer' },
          bytes: { type: ['integer', 'null'] },
          available: { type: 'boolean' },
          url: { type: 'string' },
          link: { anyOf: [linkSchema, { type: 'null' }] },
        },
      },
    },
    speakers: {
      type: 'array',
      items: { type: 'object', properties: { sourceId: { type: 'string' }, participantId: { type: ['string', 'null'] }, name: { type: 'string' }, prompt: { type: 'boolean' }, talkMs: { type: 'integer' }, share: { type: 'number' } } },
    },
    segments: { type: 'array', items: { type: 'object', properties: { sourceId: { type: 'string' }, startMs: { type: 'integer' }, endMs: { type: 'integer' } } } },
    overlaps: { type: 'array', items: { type: 'object', properties: { startMs: { type: 'integer' }, endMs: { type: 'integer' }, sourceIds: { type: 'array', items: { type: 'string' } } } } },
    mediaEndMs: { type: 'integer' },
    transcript: {
      type: 'array',
      items: { type: 'object', properties: { sourceId: { type: 'string' }, speaker: { type: 'string' }, startMs: { type: 'integer' }, endMs: { type: 'integer' }, text: { type: 'string' }, confidence: { type: 'number' } } },
    },
    files: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, bytes: { type: 'integer' }, url: { type: 'string' }, link: linkSchema } } },
    deliveries: { type: 'object', additionalProperties: true, properties: { total: { type: 'integer' }, delivered: { type: 'integer' }, pending: { type: 'integer' }, failed: { type: 'integer' }, items: { type: 'array', items: { type: 'object', additionalProperties: true } } } },
  },
} as const;

const TYPES: Record<string, string> = { wav: 'audio/wav', opus: 'audio/ogg', ogg: 'audio/ogg', json: 'application/json; charset=utf-8', vtt: 'text/vtt; charset=utf-8' };
const typeOf = (name: string): string => TYPES[name.slice(name.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream';

/** Serves one of a call's files (Range for recordings), or redirects to its remote copy when the local one is gone. */
async function serve(o: HistoryRoutesOptions, request: FastifyRequest, reply: FastifyReply, callId: string, kind: HistoryFileKind, name: string): Promise<FastifyReply> {
  const { root, path } = o.history.filePath(callId, kind, name);
  let file;
  try {
    file = await openRegularFileUnder(root, path);
  } catch (err) {
    const remote = isMediabotError(err) && err.code === 'MEDIABOT_NOT_FOUND' && o.remoteUrl ? await o.remoteUrl(callId, kind, name) : null;
    if (remote !== null) return reply.redirect(remote, 302);
    throw err;
  }
  const download = (request.query as { download?: string } | undefined)?.download !== undefined;
  return sendFile(request, reply, file, { type: typeOf(name), ...(download ? { attachmentName: name } : {}) });
}

export const v1HistoryRoutes: FastifyPluginAsync<HistoryRoutesOptions> = async (app, opts) => {
  const history = opts.history;
  app.get<{ Querystring: { limit?: number; before?: string } }>(
    '/history',
    {
      schema: {
        tags: ['history'],
        summary: 'Ended calls, the most recently ended first: when, how long, who spoke, why it ended (from what is stored: survives restarts)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            before: { type: 'string', format: 'date-time', description: 'paging: only calls that ended before this time (the previous page\'s `next`)' },
          },
        },
        response: { 200: { type: 'object', properties: { calls: { type: 'array', items: { type: 'object', properties: endedCallProperties } }, next: { type: ['string', 'null'] } } }, 400: errorSchema, 401: errorSchema },
      },
    },
    async (request) => history.list(request.query),
  );
  app.get<{ Params: { id: string } }>(
    '/history/:id',
    {
      schema: {
        tags: ['history'],
        summary: 'One ended call: end reason, speakers with talk time, talk segments and overlaps, transcript, recordings and files with links, webhook deliveries',
        params: idParams,
        response: { 200: summarySchema, 401: errorSchema, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request) => history.summary(request.params.id),
  );
  for (const kind of ['files', 'recordings'] as const) {
    app.get<{ Params: { id: string; name: string }; Querystring: { download?: string } }>(
      `/history/:id/${kind}/:name`,
      {
        schema: {
          tags: ['history'],
          summary: kind === 'files' ? 'One of an ended call\'s artifact files' : 'One of an ended call\'s recordings (supports HTTP Range)',
          params: fileParams,
          querystring: { type: 'object', properties: { download: { type: 'string', maxLength: 1, description: 'present: sent as an attachment' } } },
          response: { 401: errorSchema, 404: errorSchema, 416: errorSchema },
        },
      },
      async (request, reply) => serve(opts, request, reply, request.params.id, kind, request.params.name),
    );
  }
};

export interface HistoryFileRoutesOptions extends HistoryRoutesOptions {
  links: FileLinks;
}

/** GET /files/history/:id/:kind/:name?expires=&sig=: the signed links of the history (no bearer token: the signature is the credential). */
export const historyFileRoutes: FastifyPluginAsync<HistoryFileRoutesOptions> = async (app, opts) => {
  app.get<{ Params: { id: string; kind: HistoryFileKind; name: string }; Querystring: { expires?: number; sig?: string; download?: string } }>(
    '/files/history/:id/:kind/:name',
    {
      schema: {
        hide: true,
        params: {
          type: 'object',
          properties: { id: { type: 'string', minLength: 1, maxLength: 200 }, kind: { type: 'string', enum: ['files', 'recordings'] }, name: { type: 'string', minLength: 1, maxLength: 300 } },
          required: ['id', 'kind', 'name'],
        },
        querystring: { type: 'object', properties: { expires: { type: 'integer', minimum: 0 }, sig: { type: 'string', maxLength: 100 }, download: { type: 'string', maxLength: 1 } } },
      },
    },
    async (request, reply) => {
      const { id, kind, name } = request.params;
      opts.links.verify(`/files/history/${encodeURIComponent(id)}/${kind}/${encodeURIComponent(name)}`, request.query.expires, request.query.sig);
      return serve(opts, request, reply, id, kind, name);
    },
  );
};
