/**
 * One observation of `possync verify-schemas`. Errors and warnings are drift (exit 1); info is
 * worth knowing but does not fail a CI check.
 */
export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  /** Config table name, or null for findings about the whole setup. */
  table: string | null;
  /** Stable identifier for scripts, e.g. `column-missing-sqlite`. */
  code: string;
  message: string;
  /** A statement or config change that fixes it. */
  fix?: string;
}

export const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function finding(severity: Severity, table: string | null, code: string, message: string, fix?: string): Finding {
  return fix === undefined ? { severity, table, code, message } : { severity, table, code, message, fix };
}
