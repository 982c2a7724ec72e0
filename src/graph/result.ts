import type { GraphRequestOptions, GraphRequester, GraphResponse, HttpMethod } from './http.js';
import { GraphError } from './errors.js';

/** What an action (playPrompt, mute, answer, ...) returns: the accepted operation, if Graph sent one. */
export interface ActionResult<T> {
  status: number;
  /** Response body (usually a commsOperation subtype); undefined for 202/204 without body. */
  operation: T | undefined;
  /** `Location` header, e.g. https://graph.microsoft.com/v1.0/communications/calls/{id}/operations/{opId}. */
  location: string | undefined;
  /** Operation id from the body or the Location URL. */
  operationId: string | undefined;
  requestId: string | undefined;
  clientRequestId: string;
}

export function toActionResult<T>(res: GraphResponse<T>): ActionResult<T> {
  let operationId: string | undefined;
  const body = res.body as { id?: unknown } | undefined;
  if (body && typeof body === 'object' && typeof body.id === 'string') operationId = body.id;
  if (operationId === undefined && res.location) {
    const m = /\/operations\/([^/?#]+)/.exec(res.location);
    if (m) operationId = decodeURIComponent(m[1]!);
  }
  return {
    status: res.status,
    operation: res.body,
    location: res.location,
    operationId,
    requestId: res.requestId,
    clientRequestId: res.clientRequestId,
  };
}

export async function action<T>(http: GraphRequester, method: HttpMethod, path: string, body?: unknown, opts?: GraphRequestOptions): Promise<ActionResult<T>> {
  return toActionResult(await http.request<T>(method, path, body, opts));
}

/** GET/POST that must return an entity body. */
export async function entity<T>(http: GraphRequester, method: HttpMethod, path: string, body?: unknown, opts?: GraphRequestOptions): Promise<T> {
  const res = await http.request<T>(method, path, body, opts);
  if (res.body === undefined || res.body === null || typeof res.body !== 'object') {
    throw new GraphError('MEDIABOT_GRAPH_BAD_RESPONSE', `${method} ${path} -> ${res.status} without the expected JSON body`, {
      status: res.status,
      requestId: res.requestId,
      clientRequestId: res.clientRequestId,
    });
  }
  return res.body;
}

/** An OData collection page. */
export interface Page<T> {
  value: T[];
  '@odata.nextLink'?: string;
  '@odata.context'?: string;
}

export async function page<T>(http: GraphRequester, path: string, opts?: GraphRequestOptions): Promise<Page<T>> {
  const body = await entity<Page<T>>(http, 'GET', path, undefined, opts);
  if (!Array.isArray(body.value)) {
    throw new GraphError('MEDIABOT_GRAPH_BAD_RESPONSE', `GET ${path} did not return a collection (no value array)`);
  }
  return body;
}

/** Follows @odata.nextLink up to maxPages and returns every item. */
export async function allPages<T>(http: GraphRequester, path: string, opts: GraphRequestOptions = {}, maxPages = 100): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined = path;
  let first = true;
  for (let i = 0; next !== undefined && i < maxPages; i++) {
    const p: Page<T> = await page<T>(http, next, first ? opts : { ...opts, query: {} });
    first = false;
    items.push(...p.value);
    next = p['@odata.nextLink'];
  }
  return items;
}

/**
 * Makes every function of an API object return a rejected promise instead of throwing
 * synchronously on bad arguments, so callers only ever need `await`/`.catch`.
 */
export function rejectingApi<T extends object>(api: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(api)) {
    if (typeof v === 'function') {
      const fn = v as (...args: unknown[]) => unknown;
      out[k] = (...args: unknown[]): Promise<unknown> => {
        try {
          return Promise.resolve(fn(...args));
        } catch (err) {
          return Promise.reject(err);
        }
      };
    } else if (v !== null && typeof v === 'object') {
      out[k] = rejectingApi(v);
    } else {
      out[k] = v;
    }
  }
  return out as T;
}
