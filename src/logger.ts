import { pino, type Logger } from 'pino';
import { redactText } from './util/redact.js';

export type { Logger };

/** Field paths whose values are credentials, censored in every log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.authorization',
  'authorization',
  'token',
  '*.token',
  '*.clientSecret',
  '*.apiToken',
  '*.bridgeToken',
  // Object storage credentials (config.storage.target).
  '*.accountKey',
  '*.connectionString',
  '*.secretAccessKey',
];

/** Top-level string fields of a log object that may hold a URL or a message with one. */
const TEXT_FIELDS = ['url', 'uri', 'href', 'path', 'callbackUri', 'location', 'reason', 'message'];

/**
 * Redacts secret query values and bearer tokens from a log call's message and from the top-level
 * URL-like fields of its object (pino's own redaction only censors whole fields by path).
 */
function redactArgs(args: unknown[]): unknown[] {
  return args.map((a) => {
    if (typeof a === 'string') return redactText(a);
    if (a !== null && typeof a === 'object' && !(a instanceof Error)) {
      let copy: Record<string, unknown> | undefined;
      for (const k of TEXT_FIELDS) {
        const v = (a as Record<string, unknown>)[k];
        if (typeof v === 'string') {
          const r = redactText(v);
          if (r !== v) (copy ??= { ...(a as Record<string, unknown>) })[k] = r;
        }
      }
      return copy ?? a;
    }
    return a;
  });
}

/** Options that keep credentials out of a pino logger's output (also used for test loggers). */
export function redactingLoggerOptions(): Pick<pino.LoggerOptions, 'redact' | 'hooks' | 'serializers'> {
  return {
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: {
      logMethod(inputArgs, method) {
        return method.apply(this, redactArgs(inputArgs) as Parameters<typeof method>);
      },
    },
    serializers: {
      err: (err: unknown) => {
        const s = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
        for (const k of ['message', 'stack']) if (typeof s[k] === 'string') s[k] = redactText(s[k] as string);
        return s;
      },
    },
  };
}

/** One pino logger for the process; the level comes from config (MEDIABOT_LOG_LEVEL). */
export function createLogger(level = 'info', name = 'mediabot', destination?: pino.DestinationStream): Logger {
  const opts = { name, level, ...redactingLoggerOptions() };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that drops everything, for tests and library use without logging. */
export const silentLogger: Logger = pino({ level: 'silent' });
