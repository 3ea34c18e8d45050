// The saga's steps, declared once, and the types its workflow and its handlers share. No zod here: the workflow
// imports this file, and workflow code is bundled for Temporal's deterministic sandbox.
import { sagaSteps, type LaneHint } from 'sagalane/workflows';

export interface Ticket {
  ticketId: string;
  customer: string;
  subject: string;
  body: string;
  /** Urgent tickets run every step on the express lane. */
  urgent?: boolean;
  /** A human approves the reply before it is posted. */
  approval?: boolean;
}

export type Category = 'billing' | 'technical' | 'general';

export interface Classification {
  ticketId: string;
  category: Category;
  /** The words that decided it. */
  matched: string[];
}

export interface Draft {
  ticketId: string;
  tone: 'formal' | 'friendly';
  text: string;
}

export interface Posted {
  ticketId: string;
  /** The outbox file the reply was written to. */
  file: string;
}

export interface TicketResult {
  ticketId: string;
  category: Category;
  reply: string;
  file: string;
}

// A type alias (not an interface): a record of functions.
export type TicketActivities = {
  classify(ticket: Ticket, hint?: LaneHint): Promise<Classification>;
  unclassify(classification: Classification): Promise<void>;
  draftReply(ticket: Ticket, classification: Classification, hint?: LaneHint): Promise<Draft>;
  discardDraft(draft: Draft): Promise<void>;
  postReply(draft: Draft, hint?: LaneHint): Promise<Posted>;
  retractReply(posted: Posted): Promise<void>;
};

const quick = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '200 milliseconds' },
} as const;

export const TICKET_STEPS = sagaSteps({
  // Classifying is quick and decides everything after it: always on the express lane.
  classify: { compensation: 'unclassify', lane: 'express', activity: quick },
  draftReply: { compensation: 'discardDraft', activity: quick },
  postReply: { compensation: 'retractReply', activity: quick },
});
