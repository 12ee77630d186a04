-- Reference POS terminal schema (SQLite): the till app's own database, designed by the POS app
-- team, not by possync. It deliberately differs from the cloud schema (prisma/schema.prisma) in the
-- ways real terminal databases do; possync.config.example.json maps the differences:
--
--   * products.stock_quantity is products.master_stock_quantity in Postgres (columnMap);
--   * orders keeps an integer local key (local_id) and holds the shared uuid in server_id, NULL
--     until possync assigns one; order_items.order_id and payments.order_id point at
--     orders.local_id (fkMap translates them to and from the shared uuid);
--   * sync_status, last_sync_at (orders, products, customers) and products.available_quantity
--     are app-local bookkeeping and never sync (localOnly);
--   * products.reserved_quantity, sync_logs and audit_logs exist only in Postgres.
--
-- Value conventions:
--   * ids are TEXT holding the uuid in lower case;
--   * timestamps are TEXT, ISO-8601 UTC with milliseconds and 'Z' (2026-11-24T09:15:00.123Z);
--   * money is TEXT ('12.50'), not DECIMAL(12,2): SQLite has no decimal type; a DECIMAL column
--     gets NUMERIC affinity and stores '12.50' as the binary float 12.5 (and large or
--     many-digit amounts inexactly), so only TEXT round-trips numeric(12,2) values exactly;
--   * booleans are INTEGER 0/1, JSON is TEXT, bytea is BLOB, bigint is INTEGER (64-bit).
--
-- Runs with `sqlite3 db < terminal.sql` or better-sqlite3 `db.exec()` on an empty database. The
-- app opens its connections with PRAGMA foreign_keys = ON (a per-connection setting).

CREATE TABLE stores (
    id          TEXT PRIMARY KEY NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    address     TEXT,
    phone       TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at  TEXT
);

CREATE TABLE terminals (
    id            TEXT PRIMARY KEY NOT NULL,
    store_id      TEXT NOT NULL REFERENCES stores (id),
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    is_active     INTEGER NOT NULL DEFAULT 1,
    last_seen_at  TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at    TEXT
);

CREATE TABLE users (
    id          TEXT PRIMARY KEY NOT NULL,
    store_id    TEXT NOT NULL REFERENCES stores (id),
    username    TEXT NOT NULL UNIQUE,
    full_name   TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT 'cashier',
    pin_hash    TEXT,
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at  TEXT
);

CREATE TABLE categories (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at   TEXT
);

CREATE TABLE suppliers (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    contact_name  TEXT,
    phone         TEXT,
    email         TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at    TEXT
);

CREATE TABLE customers (
    id              TEXT PRIMARY KEY NOT NULL,
    store_id        TEXT NOT NULL REFERENCES stores (id),
    name            TEXT NOT NULL,
    phone           TEXT NOT NULL UNIQUE,
    email           TEXT,
    loyalty_points  INTEGER NOT NULL DEFAULT 0,
    sync_status     TEXT DEFAULT 'pending',  -- local only
    last_sync_at    TEXT,                    -- local only
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at      TEXT
);

CREATE TABLE products (
    id                  TEXT PRIMARY KEY NOT NULL,
    sku                 TEXT NOT NULL UNIQUE,
    barcode             TEXT,
    name                TEXT NOT NULL,
    description         TEXT,
    category_id         TEXT REFERENCES categories (id),
    supplier_id         TEXT REFERENCES suppliers (id),
    price               TEXT NOT NULL,                -- money as TEXT, see header
    cost_price          TEXT NOT NULL DEFAULT '0.00', -- money as TEXT, see header
    stock_quantity      INTEGER NOT NULL DEFAULT 0,   -- Postgres: master_stock_quantity
    available_quantity  INTEGER,                      -- local only: the till's own figure
    is_active           INTEGER NOT NULL DEFAULT 1,
    external_ref        INTEGER,                      -- 64-bit, may exceed 2^53
    thumbnail           BLOB,
    sync_status         TEXT DEFAULT 'pending',       -- local only
    last_sync_at        TEXT,                         -- local only
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at          TEXT
);

CREATE INDEX products_barcode_idx ON products (barcode);

CREATE TABLE shifts (
    id             TEXT PRIMARY KEY NOT NULL,
    terminal_id    TEXT NOT NULL REFERENCES terminals (id),
    user_id        TEXT NOT NULL REFERENCES users (id),
    opened_at      TEXT NOT NULL,
    closed_at      TEXT,
    opening_float  TEXT NOT NULL DEFAULT '0.00',  -- money as TEXT
    closing_cash   TEXT,                          -- money as TEXT
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at     TEXT
);

-- The till numbers its own orders with an integer key; the shared uuid arrives in server_id.
CREATE TABLE orders (
    local_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id     TEXT UNIQUE,                    -- shared uuid, NULL until synced
    order_number  TEXT NOT NULL,
    store_id      TEXT NOT NULL REFERENCES stores (id),
    terminal_id   TEXT NOT NULL REFERENCES terminals (id),
    shift_id      TEXT NOT NULL REFERENCES shifts (id),
    customer_id   TEXT REFERENCES customers (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    status        TEXT NOT NULL DEFAULT 'completed',
    subtotal      TEXT NOT NULL DEFAULT '0.00',   -- money as TEXT
    tax           TEXT NOT NULL DEFAULT '0.00',   -- money as TEXT
    discount      TEXT NOT NULL DEFAULT '0.00',   -- money as TEXT
    total         TEXT NOT NULL DEFAULT '0.00',   -- money as TEXT
    metadata      TEXT,                           -- JSON text
    sync_status   TEXT DEFAULT 'pending',         -- local only
    last_sync_at  TEXT,                           -- local only
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at    TEXT
);

CREATE INDEX orders_shift_id_idx ON orders (shift_id);

CREATE TABLE order_items (
    id          TEXT PRIMARY KEY NOT NULL,
    order_id    INTEGER NOT NULL,
    product_id  TEXT NOT NULL REFERENCES products (id),
    quantity    INTEGER NOT NULL,
    unit_price  TEXT NOT NULL,                    -- money as TEXT
    line_total  TEXT NOT NULL,                    -- money as TEXT
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at  TEXT,
    FOREIGN KEY (order_id) REFERENCES orders (local_id)
);

CREATE INDEX order_items_order_id_idx ON order_items (order_id);

CREATE TABLE payments (
    id             TEXT PRIMARY KEY NOT NULL,
    order_id       INTEGER NOT NULL,
    method         TEXT NOT NULL,
    amount         TEXT NOT NULL,                 -- money as TEXT
    mpesa_receipt  TEXT UNIQUE,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at     TEXT,
    FOREIGN KEY (order_id) REFERENCES orders (local_id)
);

CREATE INDEX payments_order_id_idx ON payments (order_id);

CREATE TABLE inventory_adjustments (
    id               TEXT PRIMARY KEY NOT NULL,
    product_id       TEXT NOT NULL REFERENCES products (id),
    terminal_id      TEXT NOT NULL REFERENCES terminals (id),
    quantity_change  INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at       TEXT
);

CREATE TABLE terminal_stock_levels (
    id           TEXT PRIMARY KEY NOT NULL,
    terminal_id  TEXT NOT NULL REFERENCES terminals (id),
    product_id   TEXT NOT NULL REFERENCES products (id),
    quantity     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (terminal_id, product_id)
);

-- Key/value settings; possync keeps its checkpoints here (created by possync if missing).
CREATE TABLE system_settings (
    setting_key    TEXT PRIMARY KEY NOT NULL,
    setting_value  TEXT,
    updated_at     TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
