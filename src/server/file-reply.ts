/**
 * Sends an opened file, honouring one HTTP byte range (`Range: bytes=a-b`, `a-`, `-n`) so an
 * <audio> element can seek: 206 with Content-Range, 416 (MEDIABOT_RANGE_NOT_SATISFIABLE) for a
 * range past the end. Several ranges, or a header that is not a byte range, get the whole file (200),
 * as RFC 9110 allows.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MediabotError } from '../errors.js';
import type { OpenedFile } from '../util/safe-path.js';

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * The range a `Range` header asks of a file of `size` bytes: null for the whole file (no header,
 * not `bytes=`, several ranges, malformed), 'unsatisfiable' when it starts past the end.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    // A suffix: the last n bytes.
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}

export interface FileReplyOptions {
  type: string;
  /** A download name (Content-Disposition: attachment); omitted: shown inline. */
  attachmentName?: string;
}

export function sendFile(request: FastifyRequest, reply: FastifyReply, file: OpenedFile, o: FileReplyOptions): FastifyReply {
  const header = request.headers.range;
  const range = parseByteRange(typeof header === 'string' ? header : undefined, file.size);
  void reply.type(o.type).header('accept-ranges', 'bytes');
  if (o.attachmentName !== undefined) void reply.header('content-disposition', `attachment; filename="${o.attachmentName.replace(/[^A-Za-z0-9_.-]/g, '_')}"`);
  if (range === 'unsatisfiable') {
    void file.handle.close().catch(() => undefined);
    void reply.header('content-range', `bytes */${file.size}`);
    throw new MediabotError('MEDIABOT_RANGE_NOT_SATISFIABLE', `the range ${String(header).slice(0, 60)} is outside the file (${file.size} bytes)`);
  }
  if (range === null) return reply.header('content-length', file.size).send(file.handle.createReadStream());
  return reply
    .code(206)
    .header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
    .header('content-length', range.end - range.start + 1)
    .send(file.handle.createReadStream({ start: range.start, end: range.end }));
}
