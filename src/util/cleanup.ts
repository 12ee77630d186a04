/**
 * Cleanups registered in a list and run last-in-first-out, once, on normal exit or on the first
 * SIGINT/SIGTERM. A second signal while cleaning up exits at once.
 */
type Cleanup = () => Promise<void> | void;

const cleanups: Cleanup[] = [];
let installed = false;
let running: Promise<void> | undefined;

export function onCleanup(fn: Cleanup): () => void {
  cleanups.push(fn);
  installSignalHandlers();
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export function runCleanups(): Promise<void> {
  running ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!;
      try {
        await fn();
      } catch {
        // keep cleaning up
      }
    }
  })();
  return running;
}

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.once(signal, () => process.exit(130));
      void runCleanups().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}
