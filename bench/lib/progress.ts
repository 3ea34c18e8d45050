/**
 * A live progress line on stderr (rate, done/total, elapsed) so a long benchmark shows it is alive; stdout stays
 * for the tables. On a terminal the line is redrawn in place; otherwise a line is printed every few seconds.
 */

export class Progress {
  private done = 0;
  private readonly startedAt = performance.now();
  private readonly timer: NodeJS.Timeout;
  private lastLineAt = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  /** `total` may be undefined for time-bound runs; then `durationMs` drives the percentage. */
  constructor(
    private readonly label: string,
    private readonly total?: number,
    private readonly durationMs?: number,
  ) {
    this.timer = setInterval(() => this.render(false), this.tty ? 250 : 1000);
    this.timer.unref();
  }

  add(n = 1): void {
    this.done += n;
  }

  get count(): number {
    return this.done;
  }

  /** Stops redrawing and prints the final line. */
  finish(note = ''): void {
    clearInterval(this.timer);
    this.render(true, note);
  }

  private render(final: boolean, note = ''): void {
    const elapsed = (performance.now() - this.startedAt) / 1000;
    if (!final && !this.tty && elapsed - this.lastLineAt < 5) return;
    this.lastLineAt = elapsed;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const of = this.total !== undefined ? `/${this.total}` : '';
    const pct =
      this.total !== undefined
        ? ` ${Math.min(100, Math.floor((100 * this.done) / Math.max(1, this.total)))}%`
        : this.durationMs
          ? ` ${Math.min(100, Math.floor((100 * elapsed * 1000) / this.durationMs))}%`
          : '';
    const line = `  ${this.label.padEnd(44)} ${String(this.done).padStart(7)}${of}${pct}  ${rate.toFixed(0).padStart(6)}/s  ${elapsed.toFixed(1)}s ${note}`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else process.stderr.write(line + '\n');
  }
}

/** A one-off status line on stderr (phase changes). */
export function status(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
