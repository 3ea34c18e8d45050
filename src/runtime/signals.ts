/** How a long-running sagalane process learns that it should stop. */

/**
 * Resolves on the first SIGINT or SIGTERM. The handler stays installed for the rest of the process, so a second
 * signal (a terminal's Ctrl-C reaches both a launcher and this process) does not kill the process halfway through
 * its orderly shutdown.
 */
export function untilSignalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) return;
      received = signal;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
