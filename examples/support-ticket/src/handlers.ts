// What each step does, as plain functions: classify by keywords, draft a reply, post it to an outbox folder; each
// compensation undoes its step. Files stand in for a ticketing system so the work is real and checkable.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Category, Classification, Draft, Posted, Ticket } from './steps';

/** Where replies are posted (and labels and drafts kept): OUTBOX_DIR, or ./outbox. */
export function outboxDir(): string {
  return path.resolve(process.env.OUTBOX_DIR ?? 'outbox');
}

const WORDS: Record<Exclude<Category, 'general'>, string[]> = {
  billing: ['invoice', 'refund', 'charge', 'charged', 'payment', 'bill'],
  technical: ['error', 'crash', 'broken', 'bug', 'login', 'timeout'],
};

/** Keyword scoring: the category with the most matches; none (or a tie with none): general. */
export function classifyText(text: string): { category: Category; matched: string[] } {
  const words = new Set(text.toLowerCase().match(/[a-z]+/g) ?? []);
  let best: { category: Category; matched: string[] } = { category: 'general', matched: [] };
  for (const category of ['billing', 'technical'] as const) {
    const matched = WORDS[category].filter((w) => words.has(w));
    if (matched.length > best.matched.length) best = { category, matched };
  }
  return best;
}

async function write(kind: string, name: string, content: string): Promise<string> {
  const dir = path.join(outboxDir(), kind);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await fs.writeFile(file, content);
  return file;
}

export async function classify(ticket: Ticket): Promise<Classification> {
  const c = { ticketId: ticket.ticketId, ...classifyText(`${ticket.subject} ${ticket.body}`) };
  await write('labels', `${ticket.ticketId}.json`, JSON.stringify(c));
  return c;
}

export async function unclassify(c: Classification): Promise<void> {
  await fs.rm(path.join(outboxDir(), 'labels', `${c.ticketId}.json`), { force: true });
}

export async function draftReply(ticket: Ticket, c: Classification): Promise<Draft> {
  const tone = c.category === 'billing' ? 'formal' : 'friendly';
  const greeting = tone === 'formal' ? `Dear ${ticket.customer},` : `Hi ${ticket.customer}!`;
  const next =
    c.category === 'billing'
      ? 'Our billing team is reviewing the charge and will write within one business day.'
      : c.category === 'technical'
        ? 'An engineer is looking into it; we will tell you as soon as it is fixed.'
        : 'We will get back to you shortly.';
  const text = `${greeting} Thank you for your message "${ticket.subject}". ${next}`;
  await write('drafts', `${ticket.ticketId}.txt`, text);
  return { ticketId: ticket.ticketId, tone, text };
}

export async function discardDraft(d: Draft): Promise<void> {
  await fs.rm(path.join(outboxDir(), 'drafts', `${d.ticketId}.txt`), { force: true });
}

export async function postReply(d: Draft): Promise<Posted> {
  const file = await write('sent', `${d.ticketId}.txt`, d.text);
  return { ticketId: d.ticketId, file };
}

export async function retractReply(p: Posted): Promise<void> {
  await fs.rm(p.file, { force: true });
}
