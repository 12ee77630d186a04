/**
 * The "snake" naming convention: SQLite names in PascalCase or camelCase match Postgres
 * snake_case names (`OrderItem` ↔ `order_item`, `ProductId` ↔ `product_id`,
 * `HTTPStatus` ↔ `http_status`, `Address2Line` ↔ `address2_line`).
 */
export function toSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[\s-]+/g, '_')
    .toLowerCase();
}

/** Finds the SQLite name among `candidates` that a Postgres name matches under a convention. */
export function matchName(pgName: string, candidates: readonly string[], naming: 'exact' | 'snake'): string | undefined {
  const exact = candidates.find((c) => c === pgName);
  if (exact !== undefined || naming === 'exact') return exact;
  return candidates.find((c) => toSnake(c) === pgName);
}
