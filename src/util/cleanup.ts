/**
 * Cleanups registered in a list and run last-in-first-out, once, on normal exit or on the first
 * SIGINT/SIGTERM. A second signal while cleaning up exits at once.
 *
 * Long-running commands (the daemon) register a stop handler instead: the first signal then asks
 * them to stop gracefully (they finish or abort the current batch and return normally, so the
 * process exits 0 through the usual path), and only a second signal exits at once.
 */
type Cleanup = () => Promise<void> | void;
type StopHandler = (signal: NodeJS.Signals) => void;

const cleanups: Cleanup[] = [];
const stopHandlers: StopHandler[] = [];
let installed = false;
let running: Promise<void> | undefined;
let signalsSeen = 0;

export function onCleanup(fn: Cleanup): () => void {
  cleanups.push(fn);
  installSignalHandlers();
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** The first SIGINT/SIGTERM calls `fn` instead of exiting; returns the unregister function. */
export function onStopSignal(fn: StopHandler): () => void {
  stopHandlers.push(fn);
  installSignalHandlers();
  return () => {
    const i = stopHandlers.indexOf(fn);
    if (i >= 0) stopHandlers.splice(i, 1);
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

const exitCodeOf = (signal: NodeJS.Signals) => (signal === 'SIGINT' ? 130 : 143);

function handleSignal(signal: NodeJS.Signals): void {
  signalsSeen += 1;
  // Second signal (of either kind): the user means it. Exit now; open transactions roll back.
  if (signalsSeen > 1) process.exit(exitCodeOf(signal));
  if (stopHandlers.length > 0) {
    for (const fn of [...stopHandlers].reverse()) fn(signal);
    return;
  }
  void runCleanups().finally(() => process.exit(exitCodeOf(signal)));
}

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', handleSignal);
  process.on('SIGTERM', handleSignal);
}
