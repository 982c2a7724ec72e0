/**
 * Deleting a call's data and the deletion log (docs/retention.md), in the bearer-protected /v1 scope:
 *   DELETE /v1/calls/:id/data   deletes the call's recordings, transcript, analytics and stored rows
 *                               (locally and in object storage); 200 with the deletion record
 *   GET /v1/deletions           the log, newest first (?callId, ?reason, ?limit, ?before)
 */
import type { FastifyPluginAsync } from 'fastify';
import type { DeletionFilter, DeletionReason, DeletionRecord } from '../../retention/deletion-log.js';
import type { DeletionResult } from '../../retention/call-data.js';

export interface V1RetentionRoutesOptions {
  deleter: {
    delete(callId: string, reason: DeletionReason): Promise<DeletionResult>;
    deletions(filter?: DeletionFilter): DeletionRecord[];
  };
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
} as const;

const countsSchema = {
  type: 'object',
  properties: {
    files: { type: 'integer', description: 'local files removed' },
    bytes: { type: 'integer', description: 'their total size' },
    fileKinds: { type: 'object', additionalProperties: { type: 'integer' }, description: 'files per kind: transcript, analytics, timeline, call, meeting_artifacts, recording, other' },
    rows: { type: 'object', additionalProperties: { type: 'integer' }, description: 'SQLite rows removed per table' },
    objects: { type: 'integer', description: 'objects removed from object storage' },
    inMemory: { type: 'boolean', description: 'the call was still listed in memory and was forgotten' },
  },
} as const;

const recordProperties = {
  id: { type: 'string' },
  callId: { type: 'string' },
  reason: { type: 'string', enum: ['request', 'retention'] },
  at: { type: 'string', format: 'date-time' },
  complete: { type: 'boolean' },
  failed: { type: 'array', items: { type: 'string' } },
  deleted: countsSchema,
} as const;

export const v1RetentionRoutes: FastifyPluginAsync<V1RetentionRoutesOptions> = async (app, opts) => {
  app.delete<{ Params: { id: string } }>(
    '/calls/:id/data',
    {
      schema: {
        tags: ['calls'],
        summary: "Delete the call's data: recordings, transcript, analytics, stored rows, objects in storage (counts are logged, content is not)",
        description:
          'Refused with 409 MEDIABOT_CALL_ACTIVE while the call is live or its artifacts are being written. Repeating it once nothing is left answers 200 with the earlier record and alreadyDeleted: true; a call that never had data stored is 404.',
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['id'] },
        response: {
          200: { type: 'object', properties: { ...recordProperties, alreadyDeleted: { type: 'boolean' } } },
          400: errorSchema,
          404: errorSchema,
          409: errorSchema,
          500: errorSchema,
        },
      },
    },
    async (request) => opts.deleter.delete(request.params.id, 'request'),
  );

  app.get<{ Querystring: { callId?: string; reason?: DeletionReason; limit?: number; before?: string } }>(
    '/deletions',
    {
      schema: {
        tags: ['calls'],
        summary: 'The deletion log: which call, when, why and how much was deleted (newest first)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            callId: { type: 'string', minLength: 1, maxLength: 200 },
            reason: { type: 'string', enum: ['request', 'retention'] },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
            before: { type: 'string', minLength: 1, maxLength: 100, description: 'a record id: only older records (paging)' },
          },
        },
        response: { 200: { type: 'object', properties: { deletions: { type: 'array', items: { type: 'object', properties: recordProperties } } } }, 400: errorSchema },
      },
    },
    async (request) => {
      const q = request.query;
      const filter: DeletionFilter = {
        ...(q.callId !== undefined ? { callId: q.callId } : {}),
        ...(q.reason !== undefined ? { reason: q.reason } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.before !== undefined ? { before: q.before } : {}),
      };
      return { deletions: opts.deleter.deletions(filter) };
    },
  );
};
