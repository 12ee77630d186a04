import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/**
 * A dependency loaded when first used instead of when possync starts. Every command is a fresh
 * process, and a one-shot `possync trigger` has no use for the daemon's HTTP server, metrics and
 * cron scheduler, nor for the spinner when its output is piped; loading them anyway cost about a
 * quarter of a second per run on a shop's small machine. (Node ≥ 20.19 loads ES modules through
 * require, which keeps the first use synchronous.)
 */
export function onFirstUse<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load(name) as T);
}
