-- Demo seed: the cloud (PostgreSQL) side. Run after
-- prisma/migrations/20261124000000_init/migration.sql on an empty database.
-- Its twin is prisma/demo/terminal.sql (terminal 00000000-0000-4000-8000-0000000000a1).
--
-- Scenario (ids are 00000000-0000-4000-8000-000000000NNN, shortened to NNN below):
--   on both sides, identical .... store 001, terminal 0a1, users 0b1 0b2, categories 0c1-0c3,
--                                 supplier 0d1, products 101-104, shift 301
--   on both sides, different .... product 105: conflicting edit; the terminal's is newer and wins
--                                               (cloud: "Kabras Sugar 1 kg" 165.00, 2026-11-20;
--                                                terminal: "... (promo)" 149.00, 2026-11-23)
--                                 product 106: deleted in the cloud (deleted_at 2026-11-22); the
--                                              terminal copy is older and must get the tombstone
--   cloud only ..................  products 107 (reserved_quantity 5) and 108 (inactive),
--                                 customers 201 202, order 401 with items 501 502 and payment 601,
--                                 terminal_stock_levels 701 702
--   terminal only ...............  customer 203, orders local_id 1-3 (server_id NULL) with items
--                                 511-515 and payments 611-614, inventory adjustment 801
--
-- Timestamps use the same instants as the terminal file (ISO-8601 with 'Z'; Postgres accepts it).
-- products.available_quantity is GENERATED and is never listed in an INSERT.

-- stores
INSERT INTO "stores" ("id", "code", "name", "address", "phone", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-000000000001', 'NBO-01', 'Duka Bora — Westlands', 'Waiyaki Way, Nairobi', '+254700000001', '2026-11-01T08:00:00.000Z', '2026-11-01T08:00:00.000Z', NULL);

-- terminals
INSERT INTO "terminals" ("id", "store_id", "code", "name", "is_active", "last_seen_at", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000001', 'NBO-01-T1', 'Till 1', true, NULL, '2026-11-01T08:05:00.000Z', '2026-11-01T08:05:00.000Z', NULL);

-- users
INSERT INTO "users" ("id", "store_id", "username", "full_name", "role", "pin_hash", "is_active", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000001', 'amina', 'Amina Odhiambo', 'manager', 'demo-pin-hash-b1', true, '2026-11-01T08:10:00.000Z', '2026-11-01T08:10:00.000Z', NULL),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-000000000001', 'brian', 'Brian Kiprotich', 'cashier', 'demo-pin-hash-b2', true, '2026-11-01T08:11:00.000Z', '2026-11-01T08:11:00.000Z', NULL);

-- categories
INSERT INTO "categories" ("id", "name", "description", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-0000000000c1', 'Beverages', 'Drinks, tea and coffee', '2026-11-01T08:20:00.000Z', '2026-11-01T08:20:00.000Z', NULL),
  ('00000000-0000-4000-8000-0000000000c2', 'Groceries', NULL, '2026-11-01T08:21:00.000Z', '2026-11-01T08:21:00.000Z', NULL),
  ('00000000-0000-4000-8000-0000000000c3', 'Household', 'Cleaning and laundry', '2026-11-01T08:22:00.000Z', '2026-11-01T08:22:00.000Z', NULL);

-- suppliers
INSERT INTO "suppliers" ("id", "name", "contact_name", "phone", "email", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-0000000000d1', 'Mombasa Wholesalers Ltd', 'Jane Mwangi', '+254722000001', 'orders@mombasa-wholesalers.example', '2026-11-01T08:30:00.000Z', '2026-11-01T08:30:00.000Z', NULL);

-- customers (cloud only: 201, 202)
INSERT INTO "customers" ("id", "store_id", "name", "phone", "email", "loyalty_points", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-000000000201', '00000000-0000-4000-8000-000000000001', 'Wanjiru Kamau', '+254711000201', 'wanjiru@example.com', 0, '2026-11-10T12:00:00.000Z', '2026-11-10T12:00:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000202', '00000000-0000-4000-8000-000000000001', 'Otieno Ochieng', '+254711000202', NULL, 120, '2026-11-12T15:30:00.000Z', '2026-11-18T09:45:00.250Z', NULL);

-- products
--   101-104 identical on the terminal; 105 conflicting edit (terminal newer); 106 deleted here;
--   107, 108 cloud only. 101 carries a bigint beyond 2^53 and a bytea thumbnail.
INSERT INTO "products" ("id", "sku", "barcode", "name", "description", "category_id", "supplier_id", "price", "cost_price", "master_stock_quantity", "reserved_quantity", "is_active", "external_ref", "thumbnail", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-000000000101', 'BEV-001', '6001234500011', 'Dasani Water 500 ml', NULL, '00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d1', 50.00, 32.50, 120, 0, true, 9007199254740993, decode('89504e470d0a1a0a0000000d49484452', 'hex'), '2026-11-02T09:00:00.000Z', '2026-11-02T09:00:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000102', 'BEV-002', '6001234500028', 'Ketepa Pride Tea 100 g', 'Loose leaf black tea', '00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d1', 245.00, 180.00, 40, 0, true, 42, NULL, '2026-11-02T09:01:00.000Z', '2026-11-15T14:20:00.500Z', NULL),
  ('00000000-0000-4000-8000-000000000103', 'GRO-001', '6001234500035', 'Crème Maziwa Yoghurt 500 ml', 'Strawberry — chilled', '00000000-0000-4000-8000-0000000000c2', '00000000-0000-4000-8000-0000000000d1', 120.50, 90.25, 30, 0, true, NULL, NULL, '2026-11-02T09:02:00.000Z', '2026-11-02T09:02:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000104', 'GRO-002', '6001234500042', 'Pembe Maize Flour 2 kg', NULL, '00000000-0000-4000-8000-0000000000c2', NULL, 189.99, 150.00, 200, 0, true, NULL, NULL, '2026-11-02T09:03:00.000Z', '2026-11-02T09:03:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000105', 'GRO-003', '6001234500059', 'Kabras Sugar 1 kg', NULL, '00000000-0000-4000-8000-0000000000c2', '00000000-0000-4000-8000-0000000000d1', 165.00, 130.00, 80, 0, true, NULL, NULL, '2026-11-02T09:04:00.000Z', '2026-11-20T08:00:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000106', 'HOU-001', '6001234500066', 'Sunlight Bar Soap 175 g', NULL, '00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-0000000000d1', 65.00, 48.00, 0, 0, true, NULL, NULL, '2026-11-02T09:05:00.000Z', '2026-11-22T12:00:00.000Z', '2026-11-22T12:00:00.000Z'),
  ('00000000-0000-4000-8000-000000000107', 'HOU-002', '6001234500073', 'Jik Bleach 750 ml', NULL, '00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-0000000000d1', 250.00, 190.00, 60, 5, true, NULL, NULL, '2026-11-22T10:00:00.000Z', '2026-11-22T10:00:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000108', 'BEV-003', '6001234500080', 'Coca-Cola 2 L', 'Discontinued pack size', '00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d1', 210.00, 160.00, 0, 0, false, NULL, NULL, '2026-11-22T10:05:00.000Z', '2026-11-22T10:05:00.000Z', NULL);

-- shifts (identical on the terminal)
INSERT INTO "shifts" ("id", "terminal_id", "user_id", "opened_at", "closed_at", "opening_float", "closing_cash", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-000000000301', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b2', '2026-11-24T06:00:00.000Z', NULL, 5000.00, NULL, '2026-11-24T06:00:00.000Z', '2026-11-24T06:00:00.000Z', NULL);

-- orders (cloud only: 401, a click-and-collect order booked against till 1's open shift)
INSERT INTO "orders" ("id", "order_number", "store_id", "terminal_id", "shift_id", "customer_id", "user_id", "status", "subtotal", "tax", "discount", "total", "metadata", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-000000000401', 'WEB-000001', '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000301', '00000000-0000-4000-8000-000000000201', '00000000-0000-4000-8000-0000000000b1', 'completed', 650.00, 104.00, 0.00, 754.00, '{"channel": "web", "note": "Click & collect"}', '2026-11-24T07:10:00.000Z', '2026-11-24T07:10:00.000Z', NULL);

INSERT INTO "order_items" ("id", "order_id", "product_id", "quantity", "unit_price", "line_total", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-000000000501', '00000000-0000-4000-8000-000000000401', '00000000-0000-4000-8000-000000000107', 2, 250.00, 500.00, '2026-11-24T07:10:00.000Z', '2026-11-24T07:10:00.000Z', NULL),
  ('00000000-0000-4000-8000-000000000502', '00000000-0000-4000-8000-000000000401', '00000000-0000-4000-8000-000000000101', 3, 50.00, 150.00, '2026-11-24T07:10:00.000Z', '2026-11-24T07:10:00.000Z', NULL);

INSERT INTO "payments" ("id", "order_id", "method", "amount", "mpesa_receipt", "created_at", "updated_at", "deleted_at") VALUES
  ('00000000-0000-4000-8000-000000000601', '00000000-0000-4000-8000-000000000401', 'mpesa', 754.00, 'SKN4XQ1A2B', '2026-11-24T07:10:30.000Z', '2026-11-24T07:10:30.000Z', NULL);

-- terminal_stock_levels (cloud only; conflict policy server-wins)
INSERT INTO "terminal_stock_levels" ("id", "terminal_id", "product_id", "quantity", "created_at", "updated_at") VALUES
  ('00000000-0000-4000-8000-000000000701', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000101', 24, '2026-11-23T18:00:00.000Z', '2026-11-23T18:00:00.000Z'),
  ('00000000-0000-4000-8000-000000000702', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000102', 6, '2026-11-23T18:00:00.000Z', '2026-11-23T18:00:00.000Z');
