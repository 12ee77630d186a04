import type { SqliteDb } from './gateway.ts';

/**
 * possync's own bookkeeping tables in the terminal database. They are prefixed `_possync_` so
 * they never collide with the POS app's tables; `system_settings` (checkpoints) follows DESIGN.md
 * and is only created when the app does not already have one.
 */
export const SQLITE_SCHEMA_VERSION = 4;

const DDL = `
CREATE TABLE IF NOT EXISTS _possync_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  -- 1 only inside possync's own write transactions (set and reset before COMMIT), so the capture
  -- triggers skip rows possync applies: a pulled row is never captured as a local change.
  applying INTEGER NOT NULL DEFAULT 0,
  schema_version INTEGER NOT NULL
);
INSERT OR IGNORE INTO _possync_state (id, applying, schema_version) VALUES (1, 0, ${SQLITE_SCHEMA_VERSION});
-- A till set up by an older possync moves up; never down (a newer possync may have run here).
UPDATE _possync_state SET schema_version = ${SQLITE_SCHEMA_VERSION} WHERE id = 1 AND schema_version < ${SQLITE_SCHEMA_VERSION};

-- Every local insert, update and delete of a synced table, in commit order (SQLite serialises
-- writers, so seq order is commit order). lkey is the row's local key as a JSON array of text;
-- skey the shared key of a deleted row (its server id when the table keeps a local key).
CREATE TABLE IF NOT EXISTS _possync_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  tbl TEXT NOT NULL,
  lkey TEXT NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('U', 'D')),
  skey TEXT,
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS _possync_changes_tbl_seq ON _possync_changes (tbl, seq);
CREATE INDEX IF NOT EXISTS _possync_changes_tbl_lkey ON _possync_changes (tbl, lkey);
CREATE INDEX IF NOT EXISTS _possync_changes_tbl_skey ON _possync_changes (tbl, skey) WHERE op = 'D';

-- The push batch whose Postgres commit is not yet acknowledged here. Written before the Postgres
-- COMMIT, cleared after it: a crash in between is resolved on the next run by comparing with the
-- checkpoint Postgres committed together with the batch.
CREATE TABLE IF NOT EXISTS _possync_inflight (
  tbl TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
);

-- Rows that could not be applied yet: 'deferred' (a parent row is missing) or 'rejected' (the
-- other database refused the row). They are retried on every run until they go through or an
-- admin discards them; checkpoints move on without forgetting them.
CREATE TABLE IF NOT EXISTS _possync_held (
  side TEXT NOT NULL CHECK (side IN ('push', 'pull')),
  tbl TEXT NOT NULL,
  key TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('deferred', 'rejected')),
  reason TEXT NOT NULL,
  display TEXT NOT NULL,
  -- push deletes: {"op":"D","skey":...,"at":...}, since the local row is gone
  detail TEXT,
  first_seen TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  last_tried TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  attempts INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (side, tbl, key)
);

-- Keys present locally when a full pull resync of a table began; whatever the resync does not
-- see in Postgres was deleted there.
CREATE TABLE IF NOT EXISTS _possync_resync (
  tbl TEXT NOT NULL,
  key TEXT NOT NULL,
  PRIMARY KEY (tbl, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS _possync_conflicts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  direction TEXT NOT NULL,
  tbl TEXT NOT NULL,
  key TEXT NOT NULL,
  policy TEXT NOT NULL,
  winner TEXT NOT NULL,
  local_row TEXT,
  server_row TEXT
);

CREATE TABLE IF NOT EXISTS _possync_sync_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  direction TEXT NOT NULL,
  status TEXT NOT NULL,
  dry_run INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  error TEXT
);

-- Version 2. The columns possync last synced per table (config name), with their types on each
-- side, as JSON: a column that joins later (added on the second side, taken out of localOnly,
-- mapped by columnMap) is told apart from one that was always synced, and backfilled once
-- (engine/evolve). Created here on every run, so a till installed by version 1 gets it too.
CREATE TABLE IF NOT EXISTS _possync_synced_columns (
  tbl TEXT PRIMARY KEY,
  columns TEXT NOT NULL,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Version 3. Column merge (engine/merge): what a pushed batch makes the new base of its rows, and
-- the merged row to write back locally, as wire JSON. Written before the Postgres COMMIT with a
-- token that the batch's Postgres transaction also stores; applied after the commit, or on the
-- next run when Postgres holds the token (discarded when it does not: the batch rolled back).
CREATE TABLE IF NOT EXISTS _possync_base_next (
  tbl TEXT NOT NULL,
  lkey TEXT NOT NULL,
  token TEXT NOT NULL,
  base TEXT NOT NULL,
  result TEXT,
  PRIMARY KEY (tbl, lkey)
);

-- Version 4. conflict "manual" (engine/manual): rows both sides changed, set aside until an admin
-- decides. Neither side's row is overwritten meanwhile; the till's and the cloud's versions (wire
-- JSON, NULL when that side deleted the row) follow later edits while it is open. key is the
-- shared key, lkey the local key when known. decision: till | cloud | set (set_values: wire JSON
-- of the columns set on top of the cloud's version), written by \`possync conflicts resolve\` and
-- carried out by the next push. Created here on every run, so a till at version 3 gets it too.
CREATE TABLE IF NOT EXISTS _possync_open_conflicts (
  tbl TEXT NOT NULL,
  key TEXT NOT NULL,
  lkey TEXT,
  display TEXT NOT NULL,
  till_row TEXT,
  cloud_row TEXT,
  columns TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  decision TEXT CHECK (decision IN ('till', 'cloud', 'set')),
  set_values TEXT,
  decided_at TEXT,
  PRIMARY KEY (tbl, key)
);
CREATE INDEX IF NOT EXISTS _possync_open_conflicts_lkey ON _possync_open_conflicts (tbl, lkey);

CREATE TABLE IF NOT EXISTS system_settings (
  setting_key TEXT PRIMARY KEY,
  setting_value TEXT,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
`;

export function installSqliteBookkeeping(db: SqliteDb): void {
  db.exec(DDL);
  // Version 3: conflicts record the base, the result and the clashing columns of a column merge.
  const have = new Set((db.prepare(`SELECT name FROM pragma_table_info('_possync_conflicts')`).all() as { name: string }[]).map((r) => r.name));
  for (const col of ['base_row', 'result_row', 'columns']) if (!have.has(col)) db.exec(`ALTER TABLE _possync_conflicts ADD COLUMN ${col} TEXT`);
}
