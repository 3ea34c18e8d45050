/**
 * What became of an idea, as the reader writes it down: the phrases it acted on (`understood`), what it assumed
 * (`assumed`), the numbers it could not honour (`problems`), and for every number of the idea the one place it went.
 * Keeping the number's place here, once, is what stops a plan from saying a number was both used and ignored.
 */
import type { UnderstoodPhrase } from './contracts';
import type { NumberToken } from './idea-numbers';

/** Where one number of the idea went. */
export interface NumberPlacement {
  /** The number as written in the idea ("20-day", "a fortnight", "2.5%"). */
  text: string;
  index: number;
  end: number;
  place: 'understood' | 'assumed';
  /** What it set ("fast", "stop-loss", "volatility filter"), when understood. */
  sets?: string;
  /** Why it was not used as written, when assumed. */
  reason?: string;
}

export class IdeaLedger {
  readonly understood: UnderstoodPhrase[] = [];
  readonly assumed: string[] = [];
  readonly problems: string[] = [];
  private readonly placements = new Map<NumberToken, NumberPlacement>();

  constructor(private readonly idea: string) {}

  /** The words of the idea between two offsets, as the user wrote them. */
  phrase(from: number, to: number): string {
    return this.idea.slice(from, to).trim();
  }

  /** The number as the user wrote it. */
  written(token: NumberToken): string {
    return this.phrase(token.index, token.end);
  }

  isPlaced(token: NumberToken): boolean {
    return this.placements.has(token);
  }

  /** The idea's words `from`..`to` meant `meaning`; `tokens` are the numbers in them that it used. */
  understand(from: number, to: number, meaning: string, sets?: string, tokens: NumberToken[] = []): void {
    this.understood.push({ phrase: this.phrase(from, to), meaning });
    for (const t of tokens) this.place(t, { place: 'understood', ...(sets ? { sets } : {}) });
  }

  assume(line: string): void {
    this.assumed.push(line);
  }

  /**
   * A number the plan does not use as written: `assumed` quotes it (`ignored "500": …`), which is how a reader of
   * the plan, and the check of an LLM's plan, find the number it is about.
   */
  setAside(token: NumberToken, reason: string, verb = 'ignored'): void {
    if (this.isPlaced(token)) return;
    this.assumed.push(`${verb} "${this.written(token)}": ${reason}`);
    this.place(token, { place: 'assumed', reason });
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  /** Every placed number, in the order it appears in the idea. */
  numbers(): NumberPlacement[] {
    return [...this.placements.values()].sort((a, b) => a.index - b.index);
  }

  // A number keeps its first place: whatever reads it later has to look for another.
  private place(token: NumberToken, how: Pick<NumberPlacement, 'place' | 'sets' | 'reason'>): void {
    if (this.isPlaced(token)) return;
    this.placements.set(token, { text: this.written(token), index: token.index, end: token.end, ...how });
  }
}
