/** /communications/callRecords: get (optionally expanded), list, sessions, direct routing and PSTN call logs. */
import type { CallRecords } from '@microsoft/microsoft-graph-types';
import type { GraphRequester } from './http.js';
import { invalidArgument, segment } from './errors.js';
import { allPages, entity, page, rejectingApi, type Page } from './result.js';

const ROOT = '/communications/callRecords';

/** Date for a function-call URL: YYYY-MM-DD as in the docs, or a full ISO timestamp. */
function urlDate(name: string, d: Date | string): string {
  if (d instanceof Date) {
    if (Number.isNaN(d.getTime())) throw invalidArgument(`${name} is an invalid Date`);
    return d.toISOString();
  }
  if (typeof d !== 'string' || !/^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(d)) {
    throw invalidArgument(`${name} must be a Date or YYYY-MM-DD[Thh:mm:ssZ]`);
  }
  return d;
}

export interface CallRecordGetOptions {
  /** $expand=sessions($expand=segments) */
  expandSessions?: boolean;
  /** $expand=participants_v2 */
  expandParticipants?: boolean;
  /** A raw $expand value, used as given (overrides the two flags). */
  expand?: string;
}

export function createCallRecordsApi(http: GraphRequester) {
  const logFunction = <T>(name: 'getDirectRoutingCalls' | 'getPstnCalls', from: Date | string, to: Date | string): Promise<Page<T>> =>
    page<T>(http, `${ROOT}/${name}(fromDateTime=${urlDate('fromDateTime', from)},toDateTime=${urlDate('toDateTime', to)})`);

  return rejectingApi({
    get: (id: string, o: CallRecordGetOptions = {}): Promise<CallRecords.CallRecord> => {
      const expand = [o.expandSessions ? 'sessions($expand=segments)' : undefined, o.expandParticipants ? 'participants_v2' : undefined].filter(
        (x): x is string => x !== undefined,
      );
      const value = o.expand ?? (expand.length ? expand.join(',') : undefined);
      return entity<CallRecords.CallRecord>(http, 'GET', `${ROOT}/${segment('callRecordId', id)}`, undefined, value !== undefined ? { query: { $expand: value } } : {});
    },
    /** One page; `filter` is an OData $filter such as `startDateTime ge 2023-09-25T09:25:00Z`. */
    list: (o: { filter?: string } = {}): Promise<Page<CallRecords.CallRecord>> =>
      page<CallRecords.CallRecord>(http, ROOT, o.filter !== undefined ? { query: { $filter: o.filter } } : {}),
    listAll: (o: { filter?: string; maxPages?: number } = {}): Promise<CallRecords.CallRecord[]> =>
      allPages<CallRecords.CallRecord>(http, ROOT, o.filter !== undefined ? { query: { $filter: o.filter } } : {}, o.maxPages),
    listSessions: (id: string, o: { expandSegments?: boolean } = {}): Promise<Page<CallRecords.Session>> =>
      page<CallRecords.Session>(http, `${ROOT}/${segment('callRecordId', id)}/sessions`, o.expandSegments ? { query: { $expand: 'segments' } } : {}),
    getDirectRoutingCalls: (from: Date | string, to: Date | string): Promise<Page<CallRecords.DirectRoutingLogRow>> =>
      logFunction<CallRecords.DirectRoutingLogRow>('getDirectRoutingCalls', from, to),
    getPstnCalls: (from: Date | string, to: Date | string): Promise<Page<CallRecords.PstnCallLogRow>> => logFunction<CallRecords.PstnCallLogRow>('getPstnCalls', from, to),
  });
}

export type CallRecordsApi = ReturnType<typeof createCallRecordsApi>;
