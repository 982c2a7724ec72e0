import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type { Database } from 'better-sqlite3';

export const DATABASE_FILE = 'mediabot.db';

/**
 * Opens (creating if needed) the SQLite database under `dataDir`, in WAL mode.
 * Each store module creates its own tables (idempotent CREATE TABLE IF NOT EXISTS).
 * Pass ':memory:' for a throwaway database.
 */
export function openDatabase(dataDir: string): Database.Database {
  if (dataDir === ':memory:') return new Database(':memory:');
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, DATABASE_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
