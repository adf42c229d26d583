/** The signals that ask a worker process to drain and stop. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Where the handlers are installed; the process, or an emitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface DrainOnSignalsOptions {
  /** Stops taking jobs and lets running ones finish (bounded by the shutdown grace period). */
  readonly drain: () => Promise<void>;
  readonly exit: (code: number) => void;
  readonly write: (text: string) => void;
  readonly source?: SignalSource;
}

/**
 * Drains on the first SIGTERM or SIGINT, then exits 0 (1 when the drain fails). The handlers stay
 * installed until the exit, so a second signal during the drain is logged and ignored instead of
 * ending the process with its jobs half done (with no handler left, Node would die at once).
 * Returns a function that removes the handlers.
 */
export function drainOnSignals(options: DrainOnSignalsOptions): () => void {
  const source = options.source ?? process;
  let draining = false;

  const stop = (signal: NodeJS.Signals) => {
    if (draining) {
      options.write(
        `worker: ${signal} received while already draining; the drain goes on (SIGKILL stops at once)\n`,
      );
      return;
    }
    draining = true;
    options.write(`worker: ${signal} received, draining\n`);
    options.drain().then(
      () => options.exit(0),
      (error: unknown) => {
        options.write(`worker: shutdown failed: ${String(error)}\n`);
        options.exit(1);
      },
    );
  };

  for (const signal of STOP_SIGNALS) source.on(signal, stop);
  return () => {
    for (const signal of STOP_SIGNALS) source.off(signal, stop);
  };
}
