/**
 * Cluster-wide throughput over the last minute, from what Redis already counts: each consumer group's
 * `entries-read` (XINFO GROUPS, Redis 7), the number of stream entries the group has delivered for the first time,
 * whichever worker of whichever process read them. The board reads XINFO GROUPS for the oldest waiting entry
 * anyway, so this costs no command. A sample is kept per board read (at most once per `minSpacingMs`); the rate is
 * the difference between now and the oldest sample within the minute. It counts tasks started (a retry is a new
 * entry, so a new start; a reclaimed entry is not read again), not finished: finishing is recorded per process only.
 */
const WINDOW_MS = 60_000;

interface Sample {
  at: number;
  read: Map<string, number>;
}

export interface ClusterFigures {
  /** Tasks started per minute by all workers of the group (over `windowS`, up to 60 s). */
  startedPerMin: number;
  /** Seconds the figure covers. */
  windowS: number;
}

export class ClusterWindow {
  private samples: Sample[] = [];

  constructor(private readonly minSpacingMs = 1000) {}

  /**
   * Records `read` (stream → entries read by the group; a stream whose count Redis does not know is
   * left out) taken at `at`, and returns per stream the rate over the window.
   */
  record(read: Map<string, number>, at = Date.now()): Map<string, ClusterFigures> {
    const last = this.samples[this.samples.length - 1];
    if (!last || at - last.at >= this.minSpacingMs) this.samples.push({ at, read });
    // Keep one sample at or before the window's start as the baseline.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - WINDOW_MS) this.samples.shift();
    const out = new Map<string, ClusterFigures>();
    for (const [key, now] of read) {
      // The oldest sample that knew this key's count: Redis may not know a group's count at first (a group created
      // at 0 on a stream with deleted entries) and learns it once the group has read to the end.
      const base = this.samples.find((x) => x.read.has(key));
      const then = base?.read.get(key);
      const spanMs = base ? at - base.at : 0;
      // A count that went back (the group re-created) or no earlier count: no figure yet.
      if (then === undefined || spanMs <= 0 || now < then) continue;
      out.set(key, {
        startedPerMin: Math.round(((now - then) * 60_000) / spanMs),
        windowS: Math.round(spanMs / 1000),
      });
    }
    return out;
  }
}
