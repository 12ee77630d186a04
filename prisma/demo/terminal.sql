-- Demo seed: the terminal (SQLite) side, till 00000000-0000-4000-8000-0000000000a1. Run after
-- prisma/sqlite/terminal.sql on an empty database (works with PRAGMA foreign_keys = ON).
-- Its twin is prisma/demo/cloud.sql; the scenario is described at the top of that file:
--   identical on both sides: store 001, terminal 0a1, users 0b1 0b2, categories 0c1-0c3,
--                            supplier 0d1, products 101-104, shift 301
--   product 105: local edit (name, price) newer than the cloud's edit, so the terminal wins
--   product 106: older local copy of a product the cloud has deleted (tombstone must arrive)
--   terminal only: customer 203, orders local_id 1-3 (server_id NULL: possync assigns the uuids)
--                  with items 511-515 and payments 611-614, inventory adjustment 801
--
-- Timestamps: ISO-8601 UTC with milliseconds and 'Z'. Money: TEXT with two decimals.
-- sync_status, last_sync_at and available_quantity are the till's own bookkeeping (never synced).

-- stores
INSERT INTO stores (id, code, name, address, phone, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-000000000001', 'NBO-01', 'Duka Bora — Westlands', 'Waiyaki Way, Nairobi', '+254700000001', '2026-11-01T08:00:00.000Z', '2026-11-01T08:00:00.000Z', NULL);

-- terminals
INSERT INTO terminals (id, store_id, code, name, is_active, last_seen_at, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000001', 'NBO-01-T1', 'Till 1', 1, NULL, '2026-11-01T08:05:00.000Z', '2026-11-01T08:05:00.000Z', NULL);

-- users
INSERT INTO users (id, store_id, username, full_name, role, pin_hash, is_active, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000001', 'amina', 'Amina Odhiambo', 'manager', 'demo-pin-hash-b1', 1, '2026-11-01T08:10:00.000Z', '2026-11-01T08:10:00.000Z', NULL),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-000000000001', 'brian', 'Brian Kiprotich', 'cashier', 'demo-pin-hash-b2', 1, '2026-11-01T08:11:00.000Z', '2026-11-01T08:11:00.000Z', NULL);

-- categories
INSERT INTO categories (id, name, description, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-0000000000c1', 'Beverages', 'Drinks, tea and coffee', '2026-11-01T08:20:00.000Z', '2026-11-01T08:20:00.000Z', NULL),
  ('00000000-0000-4000-8000-0000000000c2', 'Groceries', NULL, '2026-11-01T08:21:00.000Z', '2026-11-01T08:21:00.000Z', NULL),
  ('00000000-0000-4000-8000-0000000000c3', 'Household', 'Cleaning and laundry', '2026-11-01T08:22:00.000Z', '2026-11-01T08:22:00.000Z', NULL);

-- suppliers
INSERT INTO suppliers (id, name, contact_name, phone, email, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-0000000000d1', 'Mombasa Wholesalers Ltd', 'Jane Mwangi', '+254722000001', 'orders@mombasa-wholesalers.example', '2026-11-01T08:30:00.000Z', '2026-11-01T08:30:00.000Z', NULL);

-- customers (terminal only: 203, signed up at the till)
INSERT INTO customers (id, store_id, name, phone, email, loyalty_points, sync_status, last_sync_at, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-000000000203', '00000000-0000-4000-8000-000000000001', 'Fatuma Hassan', '+254711000203', NULL, 0, 'pending', NULL, '2026-11-24T10:40:00.000Z', '2026-11-24T10:40:00.000Z', NULL);

-- products: 101-104 identical to the cloud (stock_quantity = master_stock_quantity);
--   105 edited here on 2026-11-23 (cloud edit 2026-11-20): name and price differ, terminal wins;
--   106 older copy (2026-11-05) of a product the cloud deleted on 2026-11-22.
--   The till last synced on 2026-11-21T18:00:00.000Z.
INSERT INTO products (id, sku, barcode, name, description, category_id, supplier_id, price, cost_price, stock_quantity, available_quantity, is_active, external_ref, thumbnail, sync_status, last_sync_at, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-000000000101', 'BEV-001', '6001234500011', 'Dasani Water 500 ml', NULL, '00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d1', '50.00', '32.50', 120, 118, 1, 9007199254740993, X'89504E470D0A1A0A0000000D49484452', 'synced', '2026-11-21T18:00:00.000Z', '2026-11-02T09:00:00.000Z', '2026-11-02T09:00:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000102', 'BEV-002', '6001234500028', 'Ketepa Pride Tea 100 g', 'Loose leaf black tea', '00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d1', '245.00', '180.00', 40, 39, 1, 42, NULL, 'synced', '2026-11-21T18:00:00.000Z', '2026-11-02T09:01:00.000Z', '2026-11-15T14:20:00.500Z', NULL),
  ('00000000-0000-4000-8000-000000000103', 'GRO-001', '6001234500035', 'Crème Maziwa Yoghurt 500 ml', 'Strawberry — chilled', '00000000-0000-4000-8000-0000000000c2', '00000000-0000-4000-8000-0000000000d1', '120.50', '90.25', 30, 29, 1, NULL, NULL, 'synced', '2026-11-21T18:00:00.000Z', '2026-11-02T09:02:00.000Z', '2026-11-02T09:02:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000104', 'GRO-002', '6001234500042', 'Pembe Maize Flour 2 kg', NULL, '00000000-0000-4000-8000-0000000000c2', NULL, '189.99', '150.00', 200, 197, 1, NULL, NULL, 'synced', '2026-11-21T18:00:00.000Z', '2026-11-02T09:03:00.000Z', '2026-11-02T09:03:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000105', 'GRO-003', '6001234500059', 'Kabras Sugar 1 kg (promo)', NULL, '00000000-0000-4000-8000-0000000000c2', '00000000-0000-4000-8000-0000000000d1', '149.00', '130.00', 80, 78, 1, NULL, NULL, 'pending', '2026-11-21T18:00:00.000Z', '2026-11-02T09:04:00.000Z', '2026-11-23T10:30:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000106', 'HOU-001', '6001234500066', 'Sunlight Bar Soap 175 g', NULL, '00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-0000000000d1', '65.00', '48.00', 0, 0, 1, NULL, NULL, 'synced', '2026-11-21T18:00:00.000Z', '2026-11-02T09:05:00.000Z', '2026-11-05T09:00:00.000Z', NULL);

-- shifts (identical to the cloud)
INSERT INTO shifts (id, terminal_id, user_id, opened_at, closed_at, opening_float, closing_cash, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-000000000301', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b2', '2026-11-24T06:00:00.000Z', NULL, '5000.00', NULL, '2026-11-24T06:00:00.000Z', '2026-11-24T06:00:00.000Z', NULL);

-- orders (terminal only; server_id NULL until possync assigns the shared uuid)
INSERT INTO orders (local_id, server_id, order_number, store_id, terminal_id, shift_id, customer_id, user_id, status, subtotal, tax, discount, total, metadata, sync_status, last_sync_at, created_at, updated_at, deleted_at) VALUES
  (1, NULL, 'T1-000001', '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000301', NULL, '00000000-0000-4000-8000-0000000000b2', 'completed', '220.50', '35.28', '0.00', '255.78', '{"channel":"pos","receipt_printed":true}', 'pending', NULL, '2026-11-24T09:15:00.123Z', '2026-11-24T09:15:00.123Z', NULL),
  (2, NULL, 'T1-000002', '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000301', '00000000-0000-4000-8000-000000000203', '00000000-0000-4000-8000-0000000000b2', 'completed', '487.99', '76.48', '10.00', '554.47', '{"channel":"pos","note":"Asante sana — karibu tena ☕"}', 'pending', NULL, '2026-11-24T10:42:07.456Z', '2026-11-24T10:42:07.456Z', NULL),
  (3, NULL, 'T1-000003', '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000301', NULL, '00000000-0000-4000-8000-0000000000b2', 'completed', '245.00', '39.20', '0.00', '284.20', NULL, 'pending', NULL, '2026-11-24T11:05:30.789Z', '2026-11-24T11:05:30.789Z', NULL);

-- order_items (order_id is orders.local_id)
INSERT INTO order_items (id, order_id, product_id, quantity, unit_price, line_total, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-000000000511', 1, '00000000-0000-4000-8000-000000000101', 2, '50.00', '100.00', '2026-11-24T09:15:00.123Z', '2026-11-24T09:15:00.123Z', NULL),
  ('00000000-0000-4000-8000-000000000512', 1, '00000000-0000-4000-8000-000000000103', 1, '120.50', '120.50', '2026-11-24T09:15:00.123Z', '2026-11-24T09:15:00.123Z', NULL),
  ('00000000-0000-4000-8000-000000000513', 2, '00000000-0000-4000-8000-000000000105', 2, '149.00', '298.00', '2026-11-24T10:42:07.456Z', '2026-11-24T10:42:07.456Z', NULL),
  ('00000000-0000-4000-8000-000000000514', 2, '00000000-0000-4000-8000-000000000104', 1, '189.99', '189.99', '2026-11-24T10:42:07.456Z', '2026-11-24T10:42:07.456Z', NULL),
  ('00000000-0000-4000-8000-000000000515', 3, '00000000-0000-4000-8000-000000000102', 1, '245.00', '245.00', '2026-11-24T11:05:30.789Z', '2026-11-24T11:05:30.789Z', NULL);

-- payments (order_id is orders.local_id); order 3 is split cash + M-Pesa
INSERT INTO payments (id, order_id, method, amount, mpesa_receipt, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-000000000611', 1, 'cash', '255.78', NULL, '2026-11-24T09:15:30.000Z', '2026-11-24T09:15:30.000Z', NULL),
  ('00000000-0000-4000-8000-000000000612', 2, 'mpesa', '554.47', 'SKN7T1LOC2', '2026-11-24T10:43:01.010Z', '2026-11-24T10:43:01.010Z', NULL),
  ('00000000-0000-4000-8000-000000000613', 3, 'cash', '200.00', NULL, '2026-11-24T11:06:00.000Z', '2026-11-24T11:06:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000614', 3, 'mpesa', '84.20', 'SKN9T1LOC3', '2026-11-24T11:06:45.999Z', '2026-11-24T11:06:45.999Z', NULL);

-- inventory_adjustments (terminal only; direction push)
INSERT INTO inventory_adjustments (id, product_id, terminal_id, quantity_change, reason, created_at, updated_at, deleted_at) VALUES
  ('00000000-0000-4000-8000-000000000801', '00000000-0000-4000-8000-000000000104', '00000000-0000-4000-8000-0000000000a1', -2, 'damaged', '2026-11-24T08:30:00.000Z', '2026-11-24T08:30:00.000Z', NULL);
