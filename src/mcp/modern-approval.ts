/**
 * An approval gate in a 2026-07-28 plain tool call (no tasks extension): the multi-round-trip flow. The call that
 * starts a saga with an approval gate follows it to the gate and answers `input_required` with the approval's
 * elicitation and a `requestState` naming the saga, sealed with an HMAC (the SDK's createRequestStateCodec, verified
 * by the SDK before the handler runs: a tampered or expired state is refused with -32602 and nothing happens). The
 * client retries the call with the answer in `inputResponses`; the retry sends the saga's approve / reject update and
 * answers as the plain call would (the saga's id, or its final state with `wait: true`).
 */
import { randomBytes } from 'node:crypto';
import {
  createRequestStateCodec,
  inputRequired,
  type RequestStateCodec,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { McpBackends } from './backends';
import {
  applyApproval,
  approvalAnswer,
  approvalInputRequests,
  APPROVAL_INPUT_KEY,
  untilApprovalGate,
} from './approval-input';
import { errorResult } from './tool-results';
import type { StartedWork, ToolCall } from './tool-registry';

export interface ApprovalRoundState {
  sagaId: string;
}

let processKey: Buffer | undefined;

/**
 * The codec of the approval rounds' `requestState`. Every process that may see the retry must share `key`; without
 * one, a key made for this process (a retry reaching another process is then refused, and the client starts over).
 */
export function approvalStateCodec(key?: string | Uint8Array): RequestStateCodec<ApprovalRoundState> {
  processKey ??= randomBytes(32);
  return createRequestStateCodec<ApprovalRoundState>({
    key: key ?? processKey,
    ttlSeconds: 24 * 3600,
    bind: (ctx) => ctx.mcpReq.method,
  });
}

export interface ApprovalRoundsDeps {
  backends: McpBackends;
  codec: RequestStateCodec<ApprovalRoundState>;
  /** Longest the first round follows the saga to its gate; past it the call answers plainly. */
  maxWaitMs: number;
}

/**
 * The plain call of a task-capable tool on 2026-07-28: a retry carrying the approval round's state answers the
 * approval; a first call starts the work and, when it stops at an approval gate, asks for the approval.
 */
export async function callWithApprovalRounds<A>(
  deps: ApprovalRoundsDeps,
  ctx: ServerContext,
  call: ToolCall,
  args: A,
  handlers: {
    start(args: A, call: ToolCall): Promise<StartedWork>;
    answer(args: A, work: StartedWork, call: ToolCall): Promise<CallToolResult>;
    stopsForApproval?(args: A): boolean;
  },
): Promise<CallToolResult> {
  const round = ctx.mcpReq.requestState<ApprovalRoundState>();
  if (round && typeof round === 'object' && typeof round.sagaId === 'string') {
    const work: StartedWork = { kind: 'saga', id: round.sagaId };
    const response = ctx.mcpReq.inputResponses?.[APPROVAL_INPUT_KEY];
    const sagas = await deps.backends.sagas();
    if (response === undefined) {
      // Asked again without the answer: ask again while the saga still waits.
      const state = await sagas.getState(work.id);
      if (state.state === 'awaiting_approval') return ask(deps, ctx, state);
      return handlers.answer(args, work, call);
    }
    const answer = approvalAnswer(response);
    if (typeof answer === 'string') return errorResult(`${answer}; saga ${work.id} was not changed`);
    await applyApproval(sagas, work.id, answer);
    return handlers.answer(args, work, call);
  }
  const work = await handlers.start(args, call);
  if (work.kind === 'saga' && handlers.stopsForApproval?.(args) && canElicitForms(ctx)) {
    const sagas = await deps.backends.sagas();
    const waiting = await untilApprovalGate(sagas, work.id, ctx.mcpReq.signal, deps.maxWaitMs);
    if (waiting) return ask(deps, ctx, waiting);
  }
  return handlers.answer(args, work, call);
}

/**
 * Whether the request's client takes form elicitations (the SDK refuses to ask one that does not, -32021): a client
 * that does not gets the plain answer, and approves with approve_saga or a task.
 */
function canElicitForms(ctx: ServerContext): boolean {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const caps = envelope?.['io.modelcontextprotocol/clientCapabilities'] as
    { elicitation?: { form?: unknown } } | undefined;
  return caps?.elicitation?.form !== undefined;
}

async function ask(
  deps: ApprovalRoundsDeps,
  ctx: ServerContext,
  state: Parameters<typeof approvalInputRequests>[0],
): Promise<CallToolResult> {
  return inputRequired({
    inputRequests: approvalInputRequests(state),
    requestState: await deps.codec.mint({ sagaId: state.sagaId }, ctx),
  }) as unknown as CallToolResult;
}
