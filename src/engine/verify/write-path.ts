import type { TablePlan } from '../plan/types.ts';
import { describeWritePath } from '../push/write-path.ts';
import { finding, type Finding } from './finding.ts';

/**
 * Which way pushes write a table that is not a plain one (INSERT rules, inheritance children,
 * partitions): a note, since every path keeps the same conflict and deferral behaviour. Pull-only
 * tables are never written.
 */
export function writePathFindings(t: TablePlan): Finding[] {
  if (t.direction === 'pull') return [];
  const text = describeWritePath(t);
  return text === undefined ? [] : [finding('info', t.name, 'write-path', text)];
}
