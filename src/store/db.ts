import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type { Database } from 'better-sqlite3';

export const DATABASE_FILE = 'mediabot.db';

/**
 * Opens (creating if needed) the SQLite database under `dataDir`, in WAL mode, with secure_delete on.
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
  // Deleted rows (a call's data, pruned webhook bodies) are overwritten, not left in free pages.
  db.pragma('secure_delete = ON');
  return db;
}

/**
 * Moves everything in the write-ahead log into the database and empties the log file, so content
 * deleted from the database is not left behind in older frames of the log. False when a reader kept
 * part of the log from being checkpointed (the next checkpoint finishes it).
 */
export function checkpointAndTruncate(db: Database.Database): boolean {
  if (!db.open || db.memory) return true;
  const r = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
  return r[0]?.busy === 0;
}
