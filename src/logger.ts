import { pino, type Logger } from 'pino';

export type { Logger };

/** One pino logger for the process; the level comes from config (MEDIABOT_LOG_LEVEL). */
export function createLogger(level = 'info', name = 'mediabot'): Logger {
  return pino({
    name,
    level,
    redact: { paths: ['req.headers.authorization', '*.authorization', '*.token', '*.clientSecret'], censor: '[redacted]' },
  });
}

/** A logger that drops everything, for tests and library use without logging. */
export const silentLogger: Logger = pino({ level: 'silent' });
