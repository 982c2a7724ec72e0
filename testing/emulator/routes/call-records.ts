import type { FastifyInstance } from 'fastify';
import type { CallRecordStore } from '../call-records.js';
import { requireRole } from '../graph-auth.js';
import { badRequest, notFound } from '../graph-error.js';

const ROLE = 'CallRecords.Read.All';

function parseWindow(args: string): { from: Date; to: Date } {
  const get = (...names: string[]): Date => {
    for (const n of names) {
      const m = new RegExp(`${n}=([^,)]+)`, 'i').exec(args);
      if (m) {
        const d = new Date(m[1]!.replace(/^'|'$/g, ''));
        if (Number.isNaN(d.getTime())) throw badRequest(`${n} is not a valid date.`);
        return d;
      }
    }
    throw badRequest(`${names[0]!} is required.`);
  };
  const from = get('fromDateTime', 'from');
  const to = get('toDateTime', 'to');
  if (to.getTime() <= from.getTime()) throw badRequest('toDateTime must be after fromDateTime.');
  if (to.getTime() - from.getTime() > 90 * 24 * 3600_000) throw badRequest('The date range must not exceed 90 days.');
  return { from, to };
}

export function registerCallRecordRoutes(app: FastifyInstance, records: CallRecordStore, graphUrl: string): void {
  app.get<{ Querystring: { $filter?: string } }>('/communications/callRecords', async (req) => {
    requireRole(req, ROLE);
    return { '@odata.context': `${graphUrl}/v1.0/$metadata#communications/callRecords`, value: records.list(req.query.$filter).map(({ ['@odata.context']: _c, ...r }) => r) };
  });

  app.get<{ Params: { key: string }; Querystring: { $expand?: string } }>('/communications/callRecords/:key', async (req) => {
    requireRole(req, ROLE);
    const fn = /^(?:microsoft\.graph\.callRecords\.)?(getPstnCalls|getDirectRoutingCalls)\((.*)\)$/i.exec(req.params.key);
    if (fn) {
      const { from, to } = parseWindow(fn[2]!);
      const pstn = fn[1]!.toLowerCase() === 'getpstncalls';
      const value = pstn ? records.pstnRows(from, to) : records.directRoutingRows(from, to);
      return {
        '@odata.context': `${graphUrl}/v1.0/$metadata#Collection(microsoft.graph.callRecords.${pstn ? 'pstnCallLogRow' : 'directRoutingLogRow'})`,
        '@odata.count': value.length,
        value,
      };
    }
    const rec = records.get(req.params.key, req.query.$expand ?? '');
    if (!rec) throw notFound(`Call record '${req.params.key}' was not found.`);
    return rec;
  });

  app.get<{ Params: { id: string }; Querystring: { $expand?: string } }>('/communications/callRecords/:id/sessions', async (req) => {
    requireRole(req, ROLE);
    const sessions = records.sessionsOf(req.params.id, /\bsegments\b/.test(req.query.$expand ?? ''));
    if (!sessions) throw notFound(`Call record '${req.params.id}' was not found.`);
    return { '@odata.context': `${graphUrl}/v1.0/$metadata#communications/callRecords('${req.params.id}')/sessions`, value: sessions };
  });
}
