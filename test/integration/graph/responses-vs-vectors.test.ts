/**
 * The read operations (GETs) against the Graph docs' response examples: the local server answers
 * with the example, and the test checks the method, the path (against INDEX.md's, where `{id}` and
 * `...` stand for any segment), the OData query, and that the client returns the example's data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphHttp, createGraphClient, type GraphClient } from '../../../src/graph/index.js';
import { startRecorder, type RecorderServer } from './recorder.js';
import { readIndex, readVector, vectorsPresent, VECTORS_DIR } from './vectors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type V = any;

const CALL = '7531d31f-d10d-44de-802f-c569dbca451c';
const PARTICIPANT = '7e1b4346-85a6-4bdd-abe3-d11c5d420efe';
const RECORD = 'e523d2ed-2966-4b6b-925b-754a88034cc5';

interface Case {
  run: (g: GraphClient, v: V) => Promise<unknown>;
  /** What the operation must return, from the example (default: the example itself). */
  expect?: (v: V) => unknown;
  /** Decoded query parameters the request must carry (default: the ones in INDEX.md's path, if any). */
  query?: (v: V) => Record<string, string>;
}


/** These docs examples use /me, i.e. a delegated token. */
const ME = { delegated: true } as const;

const CASES: Record<string, Case> = {
  'beta-call-list-audioroutinggroups.response.json': { run: (g) => g.calls.audioRoutingGroups.list(CALL) },
  'get-call-1.response.json': { run: (g, v) => g.calls.get(v.id ?? CALL) },
  'get-call-2.response.json': { run: (g) => g.calls.get('2f1a1100-b174-40a0-aba7-0b405e01ed92') },
  'get-participant.response.json': { run: (g) => g.participants.get(CALL, PARTICIPANT) },
  'get-participants.response.json': { run: (g) => g.participants.list(CALL) },
  'get-an-online-meeting-by-joinmeetingid.response.json': {
    run: (g) => g.meetings.getByJoinMeetingId('1234567890', ME),
    expect: (v) => v.value[0],
    query: () => ({ $filter: "joinMeetingIdSettings/joinMeetingId eq '1234567890'" }),
  },
  'get-onlinemeeting-by-vtcid.response.json': {
    run: (g) => g.meetings.getByVideoTeleconferenceId('123456789'),
    query: () => ({ $filter: "VideoTeleconferenceId eq '123456789'" }),
  },
  'get-onlinemeeting-joinurl-user-token.response.json': {
    run: (g, v) => g.meetings.getByJoinWebUrl(v.value[0].joinWebUrl, ME),
    expect: (v) => v.value[0],
    query: (v) => ({ $filter: `JoinWebUrl eq '${v.value[0].joinWebUrl}'` }),
  },
  'get-onlinemeeting-user-token.response.json': { run: (g, v) => g.meetings.get(v.id, ME) },
  'get-user-presence.response.json': { run: (g) => g.presence.get('66825e03-7ef5-42da-9069-724602c31f6b') },
  'get-user-presences.response.json': { run: (g) => g.presence.getById('dc74d9bb-6afe-433d-8eaa-e39d80d3a647') },
  'get-your-presence.response.json': { run: (g) => g.presence.getMine() },
  'presence-setstatusmessage-another-user-get-presence.response.json': { run: (g) => g.presence.get('fa8bf3dc-eca7-46b7-bad1-db199b62afc3') },
  'callrecord-getdirectroutingcalls.response.json': { run: (g) => g.callRecords.getDirectRoutingCalls('2019-11-01', '2019-12-01') },
  'callrecord-getpstncalls.response.json': { run: (g) => g.callRecords.getPstnCalls('2019-11-01', '2019-12-01') },
  'get_callrecord.response.json': { run: (g) => g.callRecords.get(RECORD) },
  'get_callrecord_expanded.response.json': { run: (g) => g.callRecords.get(RECORD, { expandSessions: true }) },
  'get_callrecord_expanded_participants_v2.response.json': { run: (g) => g.callRecords.get(RECORD, { expandParticipants: true }) },
  'get_callrecord_sessions.response.json': { run: (g) => g.callRecords.listSessions(RECORD) },
  'get_callrecord_sessions_expanded.response.json': { run: (g) => g.callRecords.listSessions(RECORD, { expandSegments: true }) },
  'list_callrecords.response.json': { run: (g) => g.callRecords.list() },
  'list_callrecords_filter_by_startdatetime.response.json': {
    run: (g) => g.callRecords.list({ filter: 'startDateTime ge 2023-09-25T09:25:00Z and startDateTime lt 2023-09-25T09:30:00Z' }),
    query: () => ({ $filter: 'startDateTime ge 2023-09-25T09:25:00Z and startDateTime lt 2023-09-25T09:30:00Z' }),
  },
};

/** INDEX.md path -> regex: `{x}` and `abc-...` match one segment. */
function pathPattern(indexPath: string, beta: boolean): RegExp {
  const path = indexPath.split('?')[0]!;
  const body = path
    .split('/')
    .map((s) => (/^\{.*\}$/.test(s) || s.includes('...') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^/${beta ? 'beta' : 'v1\\.0'}${body}$`);
}

const describeVectors = vectorsPresent ? describe : describe.skip;
if (!vectorsPresent) console.warn(`graph vectors not found at ${VECTORS_DIR}: skipping the vector tests`);

describeVectors('Graph read operations vs the Graph docs response examples', () => {
  let server: RecorderServer;
  let graph: GraphClient;
  let http: GraphHttp;
  const index = vectorsPresent ? readIndex() : new Map();

  beforeAll(async () => {
    server = await startRecorder();
    http = new GraphHttp({ graphUrl: server.url, tokenProvider: { getToken: async () => 'test-token' }, retry: { maxAttempts: 1 } });
    graph = createGraphClient(http);
  });
  afterAll(async () => {
    http.close();
    await server.close();
  });

  it('covers every GET response example in INDEX.md', () => {
    const gets = [...index.values()].filter((e) => e.method === 'GET' && e.file.endsWith('.response.json')).map((e) => e.file);
    expect(gets.length).toBeGreaterThan(15);
    expect(gets.filter((f) => CASES[f] === undefined)).toEqual([]);
  });

  it.each(Object.keys(CASES))('%s', async (file) => {
    const entry = index.get(file);
    expect(entry?.method).toBe('GET');
    const vector = readVector(file) as V;
    server.requests.length = 0;
    server.handler = () => ({ status: entry.status ?? 200, body: vector });
    const c = CASES[file]!;
    const result = (await c.run(graph, vector)) as V;

    expect(server.requests).toHaveLength(1);
    const sent = server.requests[0]!;
    expect(sent.method).toBe('GET');
    // audioRoutingGroups moved from beta to v1.0: the beta example's body, the v1.0 path.
    expect(sent.path).toMatch(pathPattern(entry.path, entry.beta && file !== 'beta-call-list-audioroutinggroups.response.json'));
    const indexQuery = entry.path.includes('?') ? Object.fromEntries(new URLSearchParams(entry.path.split('?')[1]).entries()) : {};
    const wantQuery = c.query?.(vector) ?? indexQuery;
    expect(Object.fromEntries(sent.query.entries())).toEqual(wantQuery);
    expect(result).toEqual(c.expect ? c.expect(vector) : vector);
  });
});
