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

/** The words of the idea an entry quotes, kept as offsets until the plan is written. */
interface Quote {
  from: number;
  to: number;
  tokens: NumberToken[];
  place: NumberPlacement['place'];
  write(words: string): void;
}

export interface LedgerEntries {
  understood: UnderstoodPhrase[];
  assumed: string[];
  problems: string[];
  numbers: NumberPlacement[];
}

export class IdeaLedger {
  private readonly understood: UnderstoodPhrase[] = [];
  private readonly assumed: string[] = [];
  private readonly problems: string[] = [];
  private readonly placements = new Map<NumberToken, NumberPlacement>();
  private readonly quotes: Quote[] = [];
  private readonly lower: string;

  /** `tokens`: every number of the idea, so a quote widened to tell two alike apart never takes in another. */
  constructor(
    private readonly idea: string,
    private readonly tokens: NumberToken[],
  ) {
    this.lower = idea.toLowerCase();
  }

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
    const entry = { phrase: this.phrase(from, to), meaning };
    this.understood.push(entry);
    const own = tokens.filter((t) => !this.isPlaced(t));
    for (const t of own) this.place(t, { place: 'understood', ...(sets ? { sets } : {}) });
    if (own.length) {
      this.quotes.push({ from, to, tokens: own, place: 'understood', write: (w) => (entry.phrase = w) });
    }
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
    const at = this.assumed.length;
    const line = (words: string) => `${verb} "${words}": ${reason}`;
    this.assumed.push(line(this.written(token)));
    this.place(token, { place: 'assumed', reason });
    this.quotes.push({
      from: token.index,
      to: token.end,
      tokens: [token],
      place: 'assumed',
      write: (w) => (this.assumed[at] = line(w)),
    });
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  /**
   * The entries as the plan states them. A quote whose words also stand elsewhere in the idea before a number that
   * went to the other place ("3x ATR … 3-day momentum": one "3" ignored, one used) is widened word by word until it
   * names one place only, so a reader of the plan cannot take the one for the other.
   */
  entries(): LedgerEntries {
    for (const q of this.quotes) {
      const [from, to] = this.misleading(q.from, q.to, q.place) ? this.distinct(q) : [q.from, q.to];
      if (from !== q.from || to !== q.to) q.write(this.phrase(from, to));
    }
    return {
      understood: this.understood,
      assumed: this.assumed,
      problems: this.problems,
      numbers: [...this.placements.values()].sort((a, b) => a.index - b.index),
    };
  }

  /** Whether the words `from`..`to` also stand where they would hold a number placed elsewhere than `place`. */
  private misleading(from: number, to: number, place: NumberPlacement['place']): boolean {
    const raw = this.lower.slice(from, to);
    const words = raw.trim();
    const own = from + raw.length - raw.trimStart().length;
    for (let i = this.lower.indexOf(words); i >= 0; i = this.lower.indexOf(words, i + 1)) {
      if (i === own) continue;
      const held = this.tokens.filter((t) => t.index >= i && t.index < i + words.length);
      if (held.some((t) => this.placements.get(t)?.place !== place)) return true;
    }
    return false;
  }

  /**
   * The quote widened one word or sign at a time (right first, then left) until it is not misleading. It never takes
   * in a number that is not its own; when it cannot be made clear, it stays as it was.
   */
  private distinct(q: Quote): [number, number] {
    const clean = (a: number, b: number) =>
      this.tokens.every((t) => q.tokens.includes(t) || t.end <= a || t.index >= b);
    let [a, b] = [q.from, q.to];
    while (this.misleading(a, b, q.place)) {
      const right = b + (/^\s*(?:[\w%]+|[^\s\w])/.exec(this.lower.slice(b))?.[0].length ?? 0);
      const left = a - (/(?:[\w%]+|[^\s\w])\s*$/.exec(this.lower.slice(0, a))?.[0].length ?? 0);
      if (right > b && clean(a, right)) b = right;
      else if (left < a && clean(left, b)) a = left;
      else return [q.from, q.to];
    }
    return [a, b];
  }

  // A number keeps its first place: whatever reads it later has to look for another.
  private place(token: NumberToken, how: Pick<NumberPlacement, 'place' | 'sets' | 'reason'>): void {
    if (this.isPlaced(token)) return;
    this.placements.set(token, { text: this.written(token), index: token.index, end: token.end, ...how });
  }
}
