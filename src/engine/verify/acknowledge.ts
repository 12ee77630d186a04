import type { ResolvedConfig } from '../../config/types.ts';
import { finding, type Finding } from './finding.ts';

/** A finding's stable id, as verify-schemas prints it and `acknowledge` names it: `<code>:<table>`, or `<code>`. */
export function findingId(f: Pick<Finding, 'code' | 'table'>): string {
  return f.table === null ? f.code : `${f.code}:${f.table}`;
}

export type IdentifiedFinding = Finding & { id: string; acknowledged?: true };

/**
 * `acknowledge` in the config: warnings an admin has looked at and accepted (a trade-off they
 * chose, not drift). They stay in the report as notes, marked acknowledged, so CI passes on a
 * sound config and the list is still visible. Errors cannot be acknowledged: they mean a sync will
 * fail. An entry that matches no warning is reported, so stale entries do not pile up.
 */
export function applyAcknowledgements(config: Pick<ResolvedConfig, 'acknowledge'>, findings: readonly Finding[]): IdentifiedFinding[] {
  const wanted = new Set(config.acknowledge ?? []);
  const used = new Set<string>();
  const out: IdentifiedFinding[] = findings.map((f) => {
    const id = findingId(f);
    if (!wanted.has(id)) return { ...f, id };
    used.add(id);
    if (f.severity !== 'warning') return { ...f, id };
    return { ...f, id, severity: 'info', message: `(acknowledged) ${f.message}`, acknowledged: true };
  });
  for (const id of wanted) {
    if (used.has(id) && out.some((f) => f.id === id && f.acknowledged)) continue;
    const errorOnly = used.has(id);
    const note = finding(
      errorOnly ? 'warning' : 'info',
      null,
      'acknowledge-unmatched',
      errorOnly ? `acknowledge "${id}" names an error, and errors cannot be acknowledged` : `acknowledge "${id}" matches no warning`,
      errorOnly ? 'fix the error' : `remove "${id}" from acknowledge`,
    );
    out.push({ ...note, id: findingId(note) });
  }
  return out;
}
