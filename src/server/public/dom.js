// Shared by the dashboard's pages: building elements, formatting times, and the API token
// (from ?token= once, then sessionStorage) sent as a bearer token.

export const $ = (sel, root = document) => root.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') n.className = v;
    else if (k === 'style') n.setAttribute('style', v);
    else if (v !== undefined && v !== null && v !== false) n.setAttribute(k, String(v));
  }
  for (const ch of children) if (ch !== null && ch !== undefined && ch !== false) n.append(ch instanceof Node ? ch : document.createTextNode(String(ch)));
  return n;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs = {}, ...children) {
  const n = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) n.setAttribute(k, String(v));
  for (const ch of children) if (ch !== null && ch !== undefined) n.append(ch instanceof Node ? ch : document.createTextNode(String(ch)));
  return n;
}

export const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;
export const clock = (ms) => {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
/** 1 h 02 min, 3 min 05 s, 42 s. */
export function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}
export const when = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '–');
export function bytes(n) {
  if (n === null || n === undefined) return '–';
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} kB`;
  return `${n} B`;
}

const params = new URLSearchParams(location.search);
let token = params.get('token') ?? sessionStorage.getItem('mediabot-token') ?? '';
if (params.get('token')) sessionStorage.setItem('mediabot-token', token);

export const getToken = () => token;
export function setToken(t) {
  token = t;
  sessionStorage.setItem('mediabot-token', t);
}
export const authHeaders = () => (token ? { authorization: `Bearer ${token}` } : {});

/** GET a JSON API path; resolves with { status, json }. */
export async function getJson(path) {
  const res = await fetch(path, { headers: authHeaders() });
  let json = null;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  return { status: res.status, json };
}

/** Shows the token form (a <template id="token-form"> on the page) and calls `then` once one is given. */
export function askToken(then) {
  const form = $('#token-form').content.firstElementChild.cloneNode(true);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(String(new FormData(form).get('token')));
    form.remove();
    then();
  });
  $('main').prepend(form);
}
