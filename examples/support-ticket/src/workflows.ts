// The workflow of each saga in the catalog, exported under its type. Bundled by the saga worker: deterministic code
// only, and nothing but `sagalane/workflows` and ./steps.
import { Saga, laneHint, stepActivities } from 'sagalane/workflows';
import { TICKET_STEPS, type Ticket, type TicketActivities, type TicketResult } from './steps';

const act = stepActivities<TicketActivities>(TICKET_STEPS);

export async function supportTicket(ticket: Ticket): Promise<TicketResult> {
  const saga = new Saga<TicketResult>({ timeoutMs: 5 * 60_000 });
  // An urgent ticket asks for the express lane for every step (classify is declared express anyway).
  const hint = ticket.urgent ? [laneHint('express')] : [];
  return saga.run(async (s) => {
    const classification = await s.step(
      'classify',
      () => act.classify(ticket),
      (c) => act.unclassify(c),
    );
    const draft = await s.step(
      'draftReply',
      () => act.draftReply(ticket, classification, ...hint),
      (d) => act.discardDraft(d),
    );
    if (ticket.approval) await s.approval('approve_reply', { timeoutMs: 24 * 3_600_000 });
    const posted = await s.step(
      'postReply',
      () => act.postReply(draft, ...hint),
      (p) => act.retractReply(p),
    );
    return {
      ticketId: ticket.ticketId,
      category: classification.category,
      reply: draft.text,
      file: posted.file,
    };
  });
}
