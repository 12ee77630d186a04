import type { PossyncError } from '../errors.ts';

/** `<path>: ` at the start of a problem, e.g. `tables[0].updatedCol: ` or `(config): `. */
const PROBLEM_START = /; (?=(?:\(config\)|[A-Za-z$_][\w$-]*(?:\[\d+\]|\.[\w$-]+)*): )/;

/**
 * The problems of a CONFIG_INVALID error, one per entry, for `possync config check` to print one
 * line each. Everywhere else they stay on the error's single line. The loader joins them as
 * `<file> has N problems: a; b`; the split is trusted only when it yields exactly N (a message
 * may itself contain "; "), otherwise the caller prints the message whole.
 */
export function configProblems(err: PossyncError): { file: string; problems: string[] } | undefined {
  const m = /^(.+?) has (\d+) problems?: ([\s\S]*)$/.exec(err.message);
  if (!m) return undefined;
  const problems = m[3]!.split(PROBLEM_START);
  return problems.length === Number(m[2]) ? { file: m[1]!, problems } : undefined;
}
