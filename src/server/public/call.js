// One ended call (call.html?id=<callId>), from GET /v1/history/:id: the speaker timeline with
// overlaps, talk time per speaker, the transcript (each line plays the mixed recording from its
// time), the files and the webhook deliveries, and why the call ended.
import { $, askToken, bytes, clock, duration, el, getJson, secs, svg, when } from './dom.js';

const PALETTE = ['#5b8cff', '#3ddc97', '#ffb454', '#c77dff', '#4dd0e1', '#ff8fab', '#b6f36a', '#f4a261'];
const FILE_NOTES = {
  'call.json': 'call summary and end reason',
  'transcript.json': 'transcript (JSON)',
  'transcript.vtt': 'transcript (WebVTT captions)',
  'analytics.json': 'talk time, overlap, interruptions',
  'timeline.json': 'speaker timeline',
};

const callId = new URLSearchParams(location.search).get('id') ?? '';
/** A speaker's name; audio mediabot played itself is marked as a prompt (its name may say so already). */
const label = (s) => (s.prompt && !/prompt/i.test(s.name) ? `${s.name} (prompt)` : s.name);
/** Every prompt mediabot played is its own media source, but one voice on this page: one colour, lane and talk-time row. */
const voiceOf = (s) => (s.prompt ? 'prompt' : s.sourceId);
const player = $('#player');
/** The recording the player plays, with the media time of its first sample. */
let playing = null;

function show(message) {
  $('#message').textContent = message;
  $('#message').hidden = false;
  $('#page').setAttribute('aria-busy', 'false');
}

async function start() {
  if (!callId) return show('No call given: open this page from the list of ended calls.');
  let res;
  try {
    res = await getJson(`/v1/history/${encodeURIComponent(callId)}`);
  } catch {
    return show('The server cannot be reached.');
  }
  if (res.status === 401) {
    show('An API token is needed.');
    return askToken(start);
  }
  if (res.status === 409) return show('This call is still going on: follow it live on the calls page.');
  if (res.status === 404) return show('Nothing is stored for this call: it never existed here, or its data was deleted.');
  if (res.status !== 200) return show(`The history could not be loaded (${res.json?.error?.code ?? res.status}).`);
  render(res.json);
}

function render(c) {
  document.title = `mediabot · call ended ${when(c.endedAt)}`;
  $('#call-title').textContent = c.people.length > 0 ? `Call with ${c.people.join(', ')}` : 'Call';
  $('#call-id').textContent = c.id;
  const voices = [...new Set(c.speakers.map(voiceOf))];
  const colors = new Map(c.speakers.map((s) => [s.sourceId, PALETTE[voices.indexOf(voiceOf(s)) % PALETTE.length]]));
  renderFacts(c);
  renderEndReason(c.endReason);
  renderTimeline(c, colors);
  renderTalk(c, colors);
  renderPlayer(c);
  renderTranscript(c, colors);
  renderFiles(c);
  renderDeliveries(c.deliveries);
  $('#message').hidden = true;
  $('#content').hidden = false;
  $('#page').setAttribute('aria-busy', 'false');
}

function renderFacts(c) {
  const facts = [
    ['Started', when(c.createdAt)],
    ['Ended', when(c.endedAt)],
    ['Duration', duration(c.durationMs)],
    ['Media', c.mediaMode === 'service' ? 'service-hosted' : c.mediaMode === 'app' ? 'app-hosted (recorded, transcribed)' : '–'],
    ['Speech', c.talkMs > 0 ? secs(c.talkMs) : '–'],
    ['Transcript', `${c.transcriptLines} lines`],
  ];
  $('#facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function renderEndReason(r) {
  const box = $('#end-reason');
  if (!r) {
    box.replaceChildren(el('h3', {}, 'Why it ended'), el('p', {}, 'No end reason was recorded for this call.'));
    return;
  }
  const parts = [
    el('h3', {}, 'Why it ended'),
    el('p', { class: 'explanation' }, r.explanation ?? r.message ?? 'The call ended.'),
    r.hint ? el('p', { class: 'hint' }, r.hint) : null,
    r.reasonCode ? el('p', { class: 'code reason-code' }, r.reasonCode) : null,
    r.code !== null && r.code !== undefined ? el('p', { class: 'code' }, `Graph code ${r.code}${r.subcode !== null && r.subcode !== undefined ? ` / ${r.subcode}` : ''}${r.message ? `: ${r.message}` : ''}`) : null,
  ];
  // replaceChildren would write a null as the text "null".
  box.replaceChildren(...parts.filter((p) => p !== null));
}

const TICK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

function renderTimeline(c, colors) {
  const box = $('#timeline');
  // A lane per voice: a person, or all of mediabot's prompts.
  const heard = c.speakers.filter((s) => s.talkMs > 0 || c.segments.some((g) => g.sourceId === s.sourceId));
  const lanes = heard.filter((s, i) => heard.findIndex((o) => voiceOf(o) === voiceOf(s)) === i);
  if (lanes.length === 0) {
    box.replaceChildren(el('p', { class: 'muted' }, 'Nobody was heard in this call.'));
    return;
  }
  const W = 1100;
  const LABEL = 170;
  const TOP = 26;
  const LANE = 34;
  const H = TOP + lanes.length * LANE + 8;
  const totalMs = Math.max(1000, c.mediaEndMs);
  const step = (TICK_STEPS_S.find((s) => (totalMs / 1000) / s <= 12) ?? 3600) * 1000;
  const x = (ms) => LABEL + ((W - LABEL - 12) * ms) / totalMs;
  const laneOf = new Map(heard.map((s) => [s.sourceId, lanes.findIndex((l) => voiceOf(l) === voiceOf(s))]));
  const y = (i) => TOP + i * LANE;
  const overlapMs = c.overlaps.reduce((a, o) => a + o.endMs - o.startMs, 0);
  $('#overlap-total').textContent = c.overlaps.length > 0 ? `(${c.overlaps.length === 1 ? 'once' : `${c.overlaps.length} times`}, ${secs(overlapMs)} in all)` : '(none)';

  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    width: '100%',
    role: 'img',
    'aria-label': `Speaker timeline over ${clock(totalMs)}: ${lanes.map((s, i) => `${s.name} ${c.segments.filter((g) => laneOf.get(g.sourceId) === i).length} turns`).join(', ')}; ${c.overlaps.length} overlaps`,
  });
  root.append(
    svg('defs', {}, svg('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, svg('rect', { width: 3, height: 6, fill: 'rgba(255,107,107,0.85)' }))),
  );
  // Time axis.
  for (let t = 0; t <= totalMs; t += step) {
    root.append(svg('line', { x1: x(t), x2: x(t), y1: TOP - 6, y2: H - 8, class: 'tick' }), svg('text', { x: x(t), y: TOP - 10, class: 'tick-label', 'text-anchor': 'middle' }, clock(t)));
  }
  // Lanes with names.
  lanes.forEach((s, i) => {
    root.append(
      svg('rect', { x: LABEL, y: y(i) + 4, width: W - LABEL - 12, height: LANE - 8, class: 'lane' }),
      svg('text', { x: LABEL - 10, y: y(i) + LANE / 2 + 5, class: 'lane-label', 'text-anchor': 'end' }, label(s)),
    );
  });
  // Overlaps: a band behind every lane, so they show across the call.
  for (const o of c.overlaps) root.append(svg('rect', { x: x(o.startMs), y: TOP, width: Math.max(1.5, x(o.endMs) - x(o.startMs)), height: lanes.length * LANE, class: 'overlap-band' }));
  // Talk segments: a bar per turn; selecting one plays the recording from there.
  for (const g of c.segments) {
    const i = laneOf.get(g.sourceId);
    if (i === undefined) continue;
    const who = label(lanes[i]);
    const bar = svg(
      'rect',
      { x: x(g.startMs), y: y(i) + 7, width: Math.max(1.5, x(g.endMs) - x(g.startMs)), height: LANE - 14, rx: 3, fill: colors.get(g.sourceId), class: 'seg', 'data-source-id': g.sourceId, 'data-start-ms': g.startMs, 'data-end-ms': g.endMs },
      svg('title', {}, `${who}: ${clock(g.startMs)}–${clock(g.endMs)} (${secs(g.endMs - g.startMs)})`),
    );
    bar.addEventListener('click', () => seek(g.startMs));
    root.append(bar);
  }
  // Overlaps, hatched over the bars of each speaker talking at once.
  for (const o of c.overlaps) {
    for (const id of o.sourceIds) {
      const i = laneOf.get(id);
      if (i === undefined) continue;
      root.append(
        svg(
          'rect',
          { x: x(o.startMs), y: y(i) + 7, width: Math.max(1.5, x(o.endMs) - x(o.startMs)), height: LANE - 14, fill: 'url(#hatch)', class: 'overlap', 'data-start-ms': o.startMs, 'data-end-ms': o.endMs },
          svg('title', {}, `${o.sourceIds.map((s) => lanes[laneOf.get(s)]?.name ?? s).join(' and ')} at once: ${clock(o.startMs)}–${clock(o.endMs)} (${secs(o.endMs - o.startMs)})`),
        ),
      );
    }
  }
  const head = svg('line', { id: 'playhead', x1: x(0), x2: x(0), y1: TOP - 4, y2: H - 6, class: 'playhead', visibility: 'hidden' });
  root.append(head);
  player.addEventListener('timeupdate', () => {
    if (!playing) return;
    const ms = playing.startMediaTimeMs + player.currentTime * 1000;
    head.setAttribute('x1', String(x(Math.min(ms, totalMs))));
    head.setAttribute('x2', String(x(Math.min(ms, totalMs))));
    head.setAttribute('visibility', 'visible');
  });
  box.replaceChildren(root);
}

function renderTalk(c, colors) {
  // One row per voice: the prompts' talk time and share add up.
  const byVoice = new Map();
  for (const s of c.speakers) {
    if (s.talkMs <= 0) continue;
    const row = byVoice.get(voiceOf(s));
    if (row) {
      row.talkMs += s.talkMs;
      row.share += s.share;
    } else byVoice.set(voiceOf(s), { ...s });
  }
  const list = [...byVoice.values()].sort((a, b) => b.talkMs - a.talkMs);
  if (list.length === 0) {
    $('#talk').replaceChildren(el('li', { class: 'muted' }, 'Nobody talked.'));
    return;
  }
  $('#talk').replaceChildren(
    ...list.map((s) => {
      const pct = Math.round(s.share * 1000) / 10;
      return el(
        'li',
        { class: 'share', 'data-voice': voiceOf(s) },
        el('span', { class: 'who' }, label(s)),
        el(
          'div',
          { class: 'bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct, 'aria-label': `${s.name}: ${pct}% of the talk time` },
          el('div', { class: 'fill', style: `width:${pct}%;background:${colors.get(s.sourceId)}` }),
        ),
        el('span', { class: 'val', 'data-talk-ms': s.talkMs }, `${secs(s.talkMs)} · ${pct}%`),
      );
    }),
  );
}

function renderPlayer(c) {
  const mixes = c.recordings.filter((r) => r.sourceId === null && r.available && r.link);
  // WAV seeks exactly; Ogg Opus is smaller. Either plays in browsers.
  playing = mixes.find((r) => r.format === 'wav') ?? mixes[0] ?? null;
  if (!playing) {
    player.hidden = true;
    $('#player-note').textContent = c.recordings.length > 0 ? 'The recording is no longer on this server.' : 'This call was not recorded.';
    return;
  }
  player.src = playing.link.url;
  player.dataset.file = playing.file;
  player.dataset.startMediaTimeMs = String(playing.startMediaTimeMs);
  $('#player-note').textContent = `All voices mixed (${playing.file}, ${bytes(playing.bytes)}).`;
}

/** Plays the recording from a call media time (ms). */
function seek(ms) {
  if (!playing) return;
  player.currentTime = Math.max(0, (ms - playing.startMediaTimeMs) / 1000);
  void player.play().catch(() => undefined);
}

function renderTranscript(c, colors) {
  const box = $('#transcript');
  if (c.transcript.length === 0) {
    box.replaceChildren(el('li', { class: 'muted' }, c.mediaMode === 'service' ? 'No transcript for service-hosted media.' : 'No speech was transcribed.'));
    return;
  }
  const items = c.transcript.map((l) => {
    const b = el(
      'button',
      { type: 'button', class: 'line', 'data-start-ms': l.startMs, 'data-end-ms': l.endMs, 'data-source-id': l.sourceId, disabled: !playing, 'aria-label': `${l.speaker} at ${clock(l.startMs)}: ${l.text}. Play from here` },
      el('span', { class: 'at' }, clock(l.startMs)),
      el('span', { class: 'who', style: `color:${colors.get(l.sourceId) ?? 'var(--accent)'}` }, l.speaker),
      el('span', { class: 'text' }, l.text),
    );
    b.addEventListener('click', () => seek(l.startMs));
    return el('li', {}, b);
  });
  box.replaceChildren(...items);
  // The line being heard.
  player.addEventListener('timeupdate', () => {
    if (!playing) return;
    const ms = playing.startMediaTimeMs + player.currentTime * 1000;
    for (const b of box.querySelectorAll('button.line')) {
      const on = Number(b.dataset.startMs) <= ms && ms < Number(b.dataset.endMs);
      b.classList.toggle('current', on);
      if (on) b.setAttribute('aria-current', 'true');
      else b.removeAttribute('aria-current');
    }
  });
}

function renderFiles(c) {
  const rows = [];
  for (const r of c.recordings) {
    const what = r.sourceId === null ? `recording, all voices (${r.format === 'wav' ? 'WAV' : 'Ogg Opus'})` : `recording, ${r.speaker} only (${r.format === 'wav' ? 'WAV' : 'Ogg Opus'})`;
    rows.push(fileRow(r.file, r.available ? r.link : null, what, r.bytes, 'recording'));
  }
  for (const f of c.files) rows.push(fileRow(f.name, f.link, FILE_NOTES[f.name] ?? 'file', f.bytes, 'artifact'));
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'No files are left for this call.')));
  $('#files').replaceChildren(...rows);
}

function fileRow(name, link, what, size, kind) {
  const cell = link ? el('a', { href: `${link.url}&download=1`, download: name, class: 'file' }, name) : el('span', { class: 'muted' }, `${name} (not on this server)`);
  return el('tr', { 'data-kind': kind }, el('td', {}, cell), el('td', {}, what), el('td', { class: 'num' }, bytes(size)));
}

function renderDeliveries(d) {
  $('#webhooks-summary').textContent = d.total === 0 ? 'No webhooks were sent for this call.' : `${d.delivered} delivered, ${d.pending} pending, ${d.failed} failed.`;
  $('#webhooks-table').hidden = d.total === 0;
  $('#webhooks').replaceChildren(
    ...d.items.map((w) =>
      el(
        'tr',
        { 'data-delivery-id': w.id },
        el('td', {}, el('code', {}, w.type)),
        el('td', {}, el('span', { class: `badge delivery-${w.status}` }, w.status)),
        el('td', { class: 'num' }, String(w.attempts)),
        el('td', { class: 'muted' }, w.lastError ? `${w.lastStatus ?? ''} ${w.lastError}`.trim() : w.lastStatus !== null ? `HTTP ${w.lastStatus}` : '–'),
      ),
    ),
  );
}

start();
