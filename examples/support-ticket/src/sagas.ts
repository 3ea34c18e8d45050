// The module SAGALANE_SAGAS names (`./dist/sagas.js`): the catalog of this project's sagas, and what runs each step
// (`stepHandlers` on lane workers; `activities` when SAGALANE_STEP_DISPATCH=inline runs steps in the saga worker).
import { z } from 'zod';
import { defineSaga, sagaCatalog, type StepHandler } from 'sagalane';
import * as handlers from './handlers';
import { TICKET_STEPS, type Ticket, type TicketResult } from './steps';

export const supportTicketSaga = defineSaga<Ticket, TicketResult>({
  type: 'supportTicket',
  description:
    'Triage a support ticket: classify it, draft a reply, optionally have a human approve it, post it.',
  input: z
    .object({
      ticketId: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, 'letters, digits and - (1-40 characters)'),
      customer: z.string().min(1).max(100),
      subject: z.string().min(1).max(200),
      body: z.string().min(1).max(5000),
      urgent: z.boolean().optional(),
      approval: z.boolean().optional(),
    })
    .strict(),
  steps: TICKET_STEPS,
  approvals: ['approve_reply'],
  workflowId: (t, uuid) => `ticket-${t.ticketId}-${uuid}`,
  priority: (t) => (t.urgent ? 'express' : 'standard'),
  memo: (t) => ({ ticketId: t.ticketId, customer: t.customer }),
  stopsForApproval: (t) => t.approval === true,
});

export const catalog = sagaCatalog([supportTicketSaga], { workflowsPath: require.resolve('./workflows') });

/** Steps as in-worker activities (SAGALANE_STEP_DISPATCH=inline). */
export const activities = {
  classify: (t: Ticket) => handlers.classify(t),
  unclassify: handlers.unclassify,
  draftReply: (t: Ticket, c: Parameters<typeof handlers.draftReply>[1]) => handlers.draftReply(t, c),
  discardDraft: handlers.discardDraft,
  postReply: handlers.postReply,
  retractReply: handlers.retractReply,
};

/** Steps as lane step handlers: `ctx.args` holds every argument the workflow passed (draftReply takes two). */
export const stepHandlers: Record<string, StepHandler<never>> = Object.fromEntries(
  Object.entries(activities).map(([name, fn]) => [
    name,
    ((_input: never, ctx) =>
      (fn as (...args: unknown[]) => Promise<unknown>)(...ctx.args)) as StepHandler<never>,
  ]),
);
