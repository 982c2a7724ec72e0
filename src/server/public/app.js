// mediabot live dashboard: calls, rosters with level meters and talking indicators, the dominant
// speaker, live captions and end reasons. Fed by GET /v1/calls and the /v1/events WebSocket.
// Below them, the ended calls (GET /v1/history), each linking to its page (call.html).
import { $, askToken as askTokenForm, authHeaders, clock, duration, el, getJson, getToken, secs, when } from './dom.js';

const callsEl = $('#calls');
const emptyEl = $('#empty');
const statusEl = $('#status');
const statusText = $('#status-text');


/** callId (lower case) -> call state kept by the page. */
const calls = new Map();
const MAX_CAPTIONS = 6;

function callOf(id) {
  const k = id.toLowerCase();
  let c = calls.get(k);
  if (!c) {
    c = { id, state: 'establishing', media: null, participants: [], speakers: new Map(), talking: new Set(), levels: new Map(), talkMs: new Map(), dominant: null, captions: [], termination: null, createdAt: new Date().toISOString() };
    calls.set(k, c);
  }
  return c;
}

function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusText.textContent = text;
}

function applyCallJson(j) {
  const c = callOf(j.id);
  c.state = j.state;
  c.media = j.media ?? c.media;
  c.createdAt = j.createdAt ?? c.createdAt;
  c.termination = j.termination ?? c.termination;
  c.participants = (j.participants ?? []).map((p) => ({ id: p.id, displayName: p.displayName, muted: p.muted, bot: p.identity?.kind === 'application' || p.identity?.kind === 'applicationInstance' }));
  for (const s of j.speakers ?? []) c.speakers.set(s.sourceId, s);
  for (const s of j.speakers ?? []) if (s.talkMs) c.talkMs.set(s.sourceId, s.talkMs);
}

function apply(e) {
  if (e.type === 'hello') {
    for (const j of e.calls ?? []) applyCallJson(j);
    return;
  }
  if (!e.callId) return;
  const c = callOf(e.callId);
  switch (e.type) {
    case 'call.state':
      c.state = e.state;
      if (e.reason) c.termination = e.reason;
      if (e.state === 'terminated') {
        c.talking.clear();
        c.levels.clear();
        c.dominant = null;
      }
      break;
    case 'call.roster': {
      const bots = new Set(c.participants.filter((p) => p.bot).map((p) => p.id));
      c.participants = e.participants.map((p) => ({ ...p, bot: bots.has(p.id) || p.displayName === 'mediabot' }));
      break;
    }
    case 'call.speakers':
      for (const s of e.speakers) c.speakers.set(s.sourceId, { ...(c.speakers.get(s.sourceId) ?? {}), ...s });
      break;
    case 'source.added':
      if (!c.speakers.has(e.sourceId)) c.speakers.set(e.sourceId, { sourceId: e.sourceId, participantId: null, displayName: null, prompt: false });
      break;
    case 'source.removed':
      c.talking.delete(e.sourceId);
      c.levels.delete(e.sourceId);
      break;
    case 'talk.start':
      c.talking.add(e.sourceId);
      break;
    case 'talk.stop':
      c.talking.delete(e.sourceId);
      c.talkMs.set(e.sourceId, (c.talkMs.get(e.sourceId) ?? 0) + e.durationMs);
      break;
    case 'speaker.dominant':
      c.dominant = e.sourceId;
      break;
    case 'level':
      for (const [id, db] of Object.entries(e.levels)) c.levels.set(id, db);
      break;
    case 'call.artifacts':
      // Its recordings, transcript and analytics are written: the call's own page has them.
      c.artifacts = true;
      break;
    case 'transcript.final':
      if (e.text && e.text.trim()) {
        c.captions.push({ sourceId: e.sourceId, text: e.text.trim(), startMs: e.startMs });
        if (c.captions.length > 50) c.captions.shift();
      }
      break;
    default:
      return;
  }
}

const initials = (name) => (name ?? '?').split(/\s+/).filter((w) => /^\p{L}/u.test(w)).slice(0, 2).map((w) => w[0].toUpperCase()).join('') || '?';
const pct = (db) => (db === undefined || db === null ? 0 : Math.max(0, Math.min(1, (db + 60) / 60)) * 100);

/** Rows: one per roster participant (with its audio sources), plus sources no participant claims. */
function rows(c) {
  const out = [];
  const claimed = new Set();
  for (const p of c.participants) {
    const sources = [...c.speakers.values()].filter((s) => s.participantId === p.id).map((s) => s.sourceId);
    sources.forEach((s) => claimed.add(s));
    out.push({ key: p.id, name: p.displayName ?? p.id, tag: p.bot ? 'bot' : p.muted ? 'muted' : null, sources });
  }
  for (const s of c.speakers.values()) {
    if (claimed.has(s.sourceId)) continue;
    out.push({ key: s.sourceId, name: s.displayName ?? s.sourceId, tag: s.prompt ? 'prompt' : 'audio', sources: [s.sourceId] });
  }
  return out;
}

function nameOfSource(c, sourceId) {
  const s = c.speakers.get(sourceId);
  if (s?.displayName) return s.displayName;
  const p = s?.participantId ? c.participants.find((x) => x.id === s.participantId) : null;
  return p?.displayName ?? sourceId;
}

function renderCall(c) {
  const live = c.state !== 'terminated';
  const card = el('article', { class: 'call', 'data-call-id': c.id, 'data-state': c.state });
  card.append(
    el(
      'header',
      {},
      el('div', {}, el('h2', {}, `Call · ${c.media === 'service' ? 'service-hosted media' : 'app-hosted media'}`), el('div', { class: 'id' }, c.id)),
      el('span', { class: `badge state-${c.state}` }, c.state === 'inLobby' ? 'in lobby' : c.state),
    ),
  );
  const list = el('ul', { class: 'roster' });
  for (const r of rows(c)) {
    const talking = live && r.sources.some((s) => c.talking.has(s));
    const dominant = live && c.dominant !== null && r.sources.includes(c.dominant);
    const level = live ? Math.max(-127, ...r.sources.map((s) => c.levels.get(s) ?? -127)) : -127;
    const talkMs = r.sources.reduce((a, s) => a + (c.talkMs.get(s) ?? 0), 0);
    list.append(
      el(
        'li',
        { class: `person${talking ? ' talking' : ''}${dominant ? ' dominant' : ''}`, 'data-key': r.key },
        el('div', { class: 'avatar' }, initials(r.name)),
        el('div', { class: 'name' }, r.name, r.tag ? el('span', { class: 'tag' }, r.tag) : null, el('span', { class: 'talk', title: 'talking' })),
        el('div', { class: 'meter', title: `${level.toFixed(1)} dBov` }, el('div', { class: 'fill', style: `width:${pct(level).toFixed(1)}%`, 'data-level': level.toFixed(1) })),
        el('div', { class: 'talktime' }, talkMs > 0 ? secs(talkMs) : ''),
      ),
    );
  }
  card.append(list);
  const caps = el('div', { class: 'captions' }, el('h3', {}, live ? 'Live captions' : 'Captions'));
  const last = c.captions.slice(-MAX_CAPTIONS);
  if (last.length === 0) caps.append(el('div', { class: 'none' }, c.media === 'service' ? 'No captions for service-hosted media.' : 'Waiting for speech…'));
  for (const l of last) caps.append(el('p', { class: 'caption' }, el('span', { class: 'at' }, clock(l.startMs)), el('span', { class: 'who' }, nameOfSource(c, l.sourceId)), l.text));
  card.append(caps);
  if (c.state === 'terminated' && c.termination) {
    const t = c.termination;
    card.append(
      el(
        'div',
        { class: 'ended' },
        el('h3', {}, 'Call ended'),
        el('p', {}, t.explanation ?? t.message ?? 'The call ended.'),
        t.hint ? el('p', { class: 'hint' }, t.hint) : null,
        t.reasonCode ? el('p', { class: 'code reason-code' }, t.reasonCode) : null,
        t.code !== null && t.code !== undefined ? el('p', { class: 'code' }, `code ${t.code}${t.subcode !== null && t.subcode !== undefined ? ` / ${t.subcode}` : ''}`) : null,
        c.artifacts ? el('p', {}, el('a', { href: `/call.html?id=${encodeURIComponent(c.id)}`, class: 'call-page-link' }, 'Timeline, transcript and recording →')) : null,
      ),
    );
  }
  return card;
}

let scheduled = false;
function render() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const list = [...calls.values()].sort((a, b) => (a.state === 'terminated') - (b.state === 'terminated') || String(b.createdAt).localeCompare(String(a.createdAt)));
    emptyEl.hidden = list.length > 0;
    callsEl.replaceChildren(...list.map(renderCall));
  });
}

function askToken() {
  askTokenForm(start);
}

async function loadCalls() {
  const res = await fetch('/v1/calls', { headers: authHeaders() });
  if (res.status === 401) return false;
  if (res.ok) for (const j of (await res.json()).calls ?? []) applyCallJson(j);
  render();
  return true;
}

let retry = 500;
function connect() {
  const url = new URL('/v1/events', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (getToken()) url.searchParams.set('token', getToken());
  const ws = new WebSocket(url);
  ws.onopen = () => {
    retry = 500;
    setStatus('live', 'live');
  };
  ws.onmessage = (m) => {
    try {
      const e = JSON.parse(m.data);
      apply(e);
      render();
      // A call's artifacts were written: it is in the history now.
      if (e.type === 'call.artifacts') loadHistory();
    } catch (err) {
      console.warn('bad event', err);
    }
  };
  ws.onclose = () => {
    setStatus('down', 'disconnected, retrying…');
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10_000);
  };
}

async function start() {
  try {
    if (!(await loadCalls())) {
      setStatus('down', 'token required');
      askToken();
      return;
    }
    await loadHistory();
  } catch {
    setStatus('down', 'server unreachable');
  }
  connect();
}

// ----- ended calls

const historyEl = $('#history-list');
const historyEmpty = $('#history-empty');

/** One line for why a call ended: the reason code mediabot gave, or Graph's explained reason. */
function endReasonText(r) {
  if (!r) return 'Unknown';
  return r.explanation ?? r.message ?? 'The call ended.';
}

function historyRow(c) {
  const link = el('a', { href: `/call.html?id=${encodeURIComponent(c.id)}`, class: 'open', 'aria-label': `Open the call that ended ${when(c.endedAt)}` }, when(c.endedAt));
  return el(
    'tr',
    { 'data-call-id': c.id },
    el('td', {}, link),
    el('td', { class: 'num' }, duration(c.durationMs)),
    el('td', {}, c.people.length > 0 ? c.people.join(', ') : el('span', { class: 'muted' }, 'nobody spoke')),
    el('td', { class: 'reason' }, endReasonText(c.endReason), c.endReason?.reasonCode ? el('span', { class: 'code' }, ` ${c.endReason.reasonCode}`) : null),
    el('td', { class: 'num' }, c.talkMs > 0 ? secs(c.talkMs) : '–'),
    el('td', { class: 'num' }, String(c.transcriptLines)),
  );
}

const HISTORY_PAGE = 50;
const moreButton = $('#history-more');
/** The `before` of the next page of ended calls, or null when all are shown. */
let historyNext = null;

function showHistoryPage(json, append) {
  const rows = json.calls.map(historyRow);
  if (append) historyEl.append(...rows);
  else historyEl.replaceChildren(...rows);
  historyNext = json.next;
  historyEmpty.hidden = historyEl.children.length > 0;
  $('#history-table').hidden = historyEl.children.length === 0;
  moreButton.hidden = historyNext === null;
}

let historyLoading = null;
/** The newest page of ended calls (again, when a call ended). */
async function loadHistory() {
  historyLoading ??= (async () => {
    try {
      const { status, json } = await getJson(`/v1/history?limit=${HISTORY_PAGE}`);
      if (status === 200) showHistoryPage(json, false);
    } finally {
      historyLoading = null;
    }
  })();
  return historyLoading;
}

moreButton.addEventListener('click', async () => {
  if (historyNext === null) return;
  moreButton.disabled = true;
  try {
    const { status, json } = await getJson(`/v1/history?limit=${HISTORY_PAGE}&before=${encodeURIComponent(historyNext)}`);
    if (status === 200) showHistoryPage(json, true);
  } finally {
    moreButton.disabled = false;
  }
});

start();
