-- possync: the least-privilege role a till runs possync as every day.
--
-- possync needs two kinds of rights. Installing (the first run, or an upgrade that replaces
-- capture triggers) creates schema "possync", its tables and functions, and a trigger on each
-- synced table: CREATE on the database and ownership of the synced tables. Everyday runs only
-- read and write rows. So a DBA installs once as the tables' owner, then runs this script, and
-- the tills get a role that owns nothing and creates nothing:
--
--   1. DATABASE_URL=<the tables' owner> possync trigger          # installs possync (once)
--   2. psql "<admin URL>" -f docs/least-privilege.sql             # this file
--   3. the tills' DATABASE_URL uses possync_sync (set a real password below)
--   4. possync verify-schemas                                     # as possync_sync: nothing missing
--
-- Run it as a role that may create roles and grant on the synced tables (their owner, or a
-- superuser), in the cloud database. It is safe to run again: after adding a table to the
-- config, add it below and rerun. The tables are those of possync.config.example.json (the
-- reference POS schema); list yours, by direction.
--
-- What possync_sync does not get, on purpose: CREATE on the database or any schema, TRIGGER,
-- TRUNCATE (possync never truncates), ownership of anything. Other roles that write the synced
-- tables (a back office, a web shop) need nothing from possync: its capture functions run as
-- the role that installed them (SECURITY DEFINER).
--
-- Not owning the tables also means possync_sync may not drop the capture triggers of a table
-- that no till syncs any more: its runs prune that table's change log instead, and say so (and
-- verify-schemas gives the DROP statements) until the owner runs possync once.

DO $recipe$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'possync_sync') THEN
    CREATE ROLE possync_sync LOGIN PASSWORD 'change-me';
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO possync_sync', current_database());
END
$recipe$;

-- The synced tables. Pull-only tables ("direction": "pull") are only read in Postgres.
GRANT USAGE ON SCHEMA public TO possync_sync;
GRANT SELECT ON
  public.stores, public.users, public.categories, public.suppliers
  TO possync_sync;
-- Tables it pushes ("both" or "push"): upserts (INSERT … ON CONFLICT DO UPDATE, COPY), row locks
-- (SELECT … FOR NO KEY UPDATE) and deletes.
GRANT SELECT, INSERT, UPDATE, DELETE ON
  public.terminals, public.customers, public.products, public.shifts, public.orders,
  public.order_items, public.payments, public.inventory_adjustments, public.terminal_stock_levels
  TO possync_sync;

-- possync's own tables: change log, checkpoints, run logs, conflicts, terminal registry. Pulls
-- read the change log, pushes write it, and pruning deletes what every terminal has pulled.
GRANT USAGE ON SCHEMA possync TO possync_sync;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA possync TO possync_sync;
-- And on tables a later possync version adds there when the owner upgrades it. (Their identity
-- columns need no sequence grant.)
DO $recipe$
BEGIN
  EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA possync GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO possync_sync',
                 (SELECT r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = 'possync'));
END
$recipe$;

-- Optional, for diagnostics only: lets `possync status` and a lock wait name another role's
-- session that holds the pull fence back or a table's lock (pg_stat_activity hides the
-- transaction of other roles' sessions otherwise). Syncing does not need it.
-- GRANT pg_read_all_stats TO possync_sync;
