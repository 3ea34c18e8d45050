/**
 * The board's HTML, rendered on the server. Every value from Redis, Temporal or the request goes through `esc` (or
 * `attr`), so a payload holding `<script>` is text; the page's Content-Security-Policy allows only the board's own
 * script and style files besides. Tables carry captions and header cells, buttons say what they act on, so screen
 * readers (and the browser tests) find them by role and name.
 */
import type { DeadLetter } from '../lane/express-client';
import { LANES } from '../lane/keys';
import type { SagaStateView } from '../workflows/saga-contract';
import type { ConsumerRow, OverviewRow, ProcessRow, ProcessWorker, TaskView } from './board-data';

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Most characters of a payload or result the board shows; the rest is cut with a note. */
export const PAYLOAD_SHOWN_CHARS = 4000;

/** Pretty JSON, task tokens hidden, cut at `max` characters. */
export function pretty(value: unknown, max = PAYLOAD_SHOWN_CHARS): string {
  let text: string;
  try {
    text =
      typeof value === 'string'
        ? value
        : (JSON.stringify(value, (k, v: unknown) => (k === 'taskToken' ? '(hidden)' : v), 2) ??
          String(value));
  } catch {
    text = String(value);
  }
  return text.length > max
    ? `${text.slice(0, max)}\n… (${text.length - max} more characters not shown)`
    : text;
}

export function ms(value: number | undefined): string {
  if (value === undefined) return '–';
  if (value === Infinity) return '> 60 s';
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 120_000) return `${(value / 1000).toFixed(1)} s`;
  return `${Math.round(value / 60_000)} min`;
}

const time = (at: number | undefined) =>
  at ? new Date(at).toISOString().replace('T', ' ').slice(0, 23) : '–';

export interface PageOptions {
  title: string;
  csrf: string;
  readOnly: boolean;
  /** Query string of the live stream (`type=…&q=…`), '' for none. */
  live?: string;
}

export function page(o: PageOptions, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${esc(o.csrf)}">
<title>${esc(o.title)} · sagalane lane board</title>
<link rel="stylesheet" href="/board/board.css">
<script src="/board/board.js" defer></script>
</head>
<body${o.live !== undefined ? ` data-live="${esc(o.live)}"` : ''}>
<header>
<h1><a href="/board">sagalane lane board</a></h1>
<nav aria-label="Board sections"><a href="/board#lanes">Lanes</a> <a href="/board#workers">Workers</a> <a href="/board#dead">Dead letters</a> <a href="/board#sagas">Sagas</a></nav>
<form action="/board/task" method="get" role="search"><label>Task id <input name="id" required size="44"></label> <button type="submit">Look up</button></form>
${o.readOnly ? '<p class="read-only" role="note">Read-only: replays, purges, approvals and rejections are refused.</p>' : ''}
</header>
<p id="status" role="status" aria-live="polite"></p>
<main>
${body}
</main>
</body>
</html>
`;
}

const LANE_COLUMNS = [
  'Type',
  'Backlog',
  'Running',
  '<abbr title="Oldest waiting task">Oldest</abbr>',
  '<abbr title="Tasks started per minute by all workers (Redis: the group\'s entries read), last minute">Started/min</abbr>',
  '<abbr title="Tasks done in the last minute by all workers (each publishes its minute every few seconds)">Done/min</abbr>',
  '<abbr title="p95 of queue wait over the last minute, all workers: the upper bound of the histogram bucket holding it (nearest bucket bound at or above)">p95 wait</abbr>',
  '<abbr title="p95 of run time over the last minute, all workers: the upper bound of the histogram bucket holding it (nearest bucket bound at or above)">p95 run</abbr>',
  '<abbr title="Failed runs (retried or dead-lettered) in the last minute, all workers">Failed</abbr>',
  'Retrying',
  '<abbr title="Dead letters">Dead</abbr>',
  'Consumers',
];

/** Express and standard side by side: one table per lane, one row per type. */
export function lanesSection(rows: OverviewRow[], proc: ProcessRow): string {
  const tables = LANES.map((lane) => {
    const mine = rows.filter((r) => r.lane === lane);
    const body = mine
      .map(
        (r) => `<tr data-type="${esc(r.type)}">
<th scope="row">${esc(r.type)}</th><td class="n" data-col="backlog">${r.lag}</td><td class="n" data-col="running">${r.pending}</td>
<td class="n" data-col="oldest">${ms(r.oldestWaitingMs)}</td><td class="n" data-col="started">${r.startedPerMin ?? '–'}</td><td class="n" data-col="done">${here(r, r.throughputPerMin ?? '–')}</td><td class="n" data-col="p95-wait">${here(r, ms(r.p95WaitMs))}</td>
<td class="n" data-col="p95-run">${here(r, ms(r.p95RunMs))}</td><td class="n" data-col="failed">${here(r, r.failures ?? '–')}</td><td class="n">${r.delayed}</td>
<td class="n" data-col="dead"><a href="/board?type=${encodeURIComponent(r.type)}#dead">${r.deadLetters}</a></td><td class="n">${r.consumers}</td></tr>`,
      )
      .join('\n');
    return `<table aria-label="${lane} lane">
<caption>${lane === 'express' ? 'Express lane' : 'Standard lane'}</caption>
<thead><tr>${LANE_COLUMNS.map((c) => `<th scope="col">${c}</th>`).join('')}</tr></thead>
<tbody>${body}</tbody>
</table>`;
  }).join('\n');
  const target =
    proc.concurrency === undefined
      ? 'No express worker in this process.'
      : `This process: autoscaler target ${proc.concurrency} slots, ${proc.inFlight} in use, ${proc.concurrency - (proc.inFlight ?? 0)} free.`;
  return `<p class="note">Backlog, running, oldest waiting, started / min, retrying, dead letters and consumers are the whole lane, all workers (Redis; started / min counts the consumer group's first deliveries over the last minute the board watched). Done / min, p95 and failures are all workers over the last minute too: each worker publishes its minute (counts and latency histograms) every few seconds and the board sums them; a p95 is the upper bound of the summed histogram's bucket that holds it. A figure marked "(here)" is this process's workers only: no worker of that type published its minute (an older version). ${esc(target)}</p>
<div class="side-by-side">${tables}</div>`;
}

/** A figure of this process only (no worker of the type publishes its window), labelled so it is not read as the fleet's. */
function here(r: OverviewRow, text: string | number): string {
  return r.figuresScope === 'process'
    ? `${text} <abbr title="This process's workers only: no worker of this type published its last minute">(here)</abbr>`
    : String(text);
}

function consumerState(c: ConsumerRow): string {
  if (c.removed) return 'Dead: its entries were reclaimed and it left the group';
  if (!c.dead) return 'alive';
  return c.reclaimedAt
    ? 'Dead: silent past the limit; its entries were reclaimed'
    : 'Dead: silent past the limit; the janitor reclaims its entries once idle past its min idle time';
}

/** `express 1 of 2, standard 0 of 4`: running now (piscina starts threads on demand and ends idle ones) of the most. */
function poolThreads(w: ProcessWorker): string {
  if (!w.poolThreads) return '–';
  return LANES.map(
    (lane) => `${lane} ${w.poolThreadsRunning?.[lane] ?? '?'} of ${w.poolThreads![lane]}`,
  ).join(', ');
}

export function workersSection(consumers: ConsumerRow[], proc: ProcessRow): string {
  const rows = consumers
    .map(
      (c) => `<tr data-consumer="${esc(c.name)}"${c.dead ? ' class="dead"' : ''}>
<th scope="row">${esc(c.name)}</th><td>${Number.isNaN(c.idleMs) ? '–' : `${ms(c.idleMs)} ago`}</td><td>${c.inHand}</td><td>${c.streams}</td>
<td>${consumerState(c)}</td><td data-col="reclaimed">${c.reclaimedAt ? `<time datetime="${new Date(c.reclaimedAt).toISOString()}">${time(c.reclaimedAt)}</time>` : '–'}</td></tr>`,
    )
    .join('\n');
  const mine = (proc.workers ?? [])
    .map(
      (
        w,
      ) => `<tr><th scope="row">${esc(w.consumer ?? '(unnamed)')}</th><td class="n">${w.concurrency}</td><td class="n">${w.inFlight}</td>
<td class="n">${Math.max(0, w.concurrency - w.inFlight)}</td><td data-col="pool-threads">${poolThreads(w)}</td></tr>`,
    )
    .join('\n');
  const slots = mine
    ? `<table aria-label="This process's workers"><caption>This process's express workers</caption>
<thead><tr><th scope="col">Consumer</th><th scope="col">Slots (autoscaler target)</th><th scope="col">In use</th><th scope="col">Free</th><th scope="col"><abbr title="Threads running now / the most the pool starts, per lane">Pool threads</abbr></th></tr></thead>
<tbody>${mine}</tbody></table>`
    : '';
  return `${slots}<table aria-label="Consumers">
<caption>Consumers of the group</caption>
<thead><tr><th scope="col">Consumer</th><th scope="col">Last seen</th><th scope="col">In hand</th><th scope="col">Streams</th><th scope="col">State</th><th scope="col"><abbr title="When a janitor last took over the entries it held (UTC)">Entries reclaimed</abbr></th></tr></thead>
<tbody>${rows || '<tr><td colspan="6">No consumers.</td></tr>'}</tbody>
</table>`;
}

export interface DeadView {
  type: string;
  filter: string;
  letters: (DeadLetter & { lane: string })[];
}

export function deadSection(types: string[], v: DeadView | undefined): string {
  const picker = `<form method="get" action="/board#dead" class="picker"><label>Type <select name="type">${types
    .map((t) => `<option${v?.type === t ? ' selected' : ''}>${esc(t)}</option>`)
    .join(
      '',
    )}</select></label> <label>Filter <input name="q" value="${esc(v?.filter ?? '')}" placeholder="reason, error or task id"></label> <button type="submit">Show</button></form>`;
  if (!v) return `${picker}<p>Pick a task type.</p>`;
  const rows = v.letters
    .map(
      (l) => `<tr data-dead-id="${esc(l.id)}" data-lane="${esc(l.lane)}">
<td><input type="checkbox" name="pick" value="${esc(l.id)}" data-lane="${esc(l.lane)}" aria-label="Select ${esc(l.taskId || l.id)}"></td>
<th scope="row">${l.taskId ? `<a href="/board/task?id=${encodeURIComponent(l.taskId)}">${esc(l.taskId)}</a>` : esc(l.id)}</th>
<td>${esc(l.lane)}</td><td>${esc(l.reason)}</td><td class="error">${esc(l.error)}</td><td>${l.attempts}</td><td>${time(l.at)}</td>
<td><pre class="payload">${esc(pretty(l.payload, 400))}</pre></td>
<td><button type="button" data-action="replay" data-type="${esc(v.type)}" data-lane="${esc(l.lane)}" data-ids="${esc(l.id)}" aria-label="Replay ${esc(l.taskId || l.id)}">Replay</button>
<button type="button" data-action="purge" data-type="${esc(v.type)}" data-lane="${esc(l.lane)}" data-ids="${esc(l.id)}" aria-label="Purge ${esc(l.taskId || l.id)}">Purge</button></td></tr>`,
    )
    .join('\n');
  return `${picker}
<div class="actions"><button type="button" data-action="replay-selected" data-type="${esc(v.type)}">Replay selected</button>
<button type="button" data-action="purge-all" data-type="${esc(v.type)}">Purge all ${esc(v.type)}</button></div>
<table aria-label="Dead letters of ${esc(v.type)}">
<caption>Dead letters of ${esc(v.type)}${v.filter ? ` matching “${esc(v.filter)}”` : ''} (${v.letters.length})</caption>
<thead><tr><th scope="col">Pick</th><th scope="col">Task</th><th scope="col">Lane</th><th scope="col">Reason</th><th scope="col">Error</th><th scope="col">Attempts</th><th scope="col">Dead since</th><th scope="col">Payload</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows || '<tr><td colspan="9">No dead letters.</td></tr>'}</tbody>
</table>`;
}

export interface SagaRow {
  sagaId: string;
  runId: string;
  status: string;
  state?: string;
  step?: string;
  startTime: string;
  closeTime?: string;
  group: 'awaiting approval' | 'running' | 'failed in the last hour';
}

export function sagasSection(rows: SagaRow[] | string, uiBase: string): string {
  if (typeof rows === 'string') return `<p class="note">Sagas unavailable: ${esc(rows)}</p>`;
  const body = rows
    .map((s) => {
      const ui = `${uiBase}/workflows/${encodeURIComponent(s.sagaId)}/${encodeURIComponent(s.runId)}/history`;
      const buttons =
        s.group === 'awaiting approval'
          ? `<button type="button" data-action="approve" data-saga="${esc(s.sagaId)}" aria-label="Approve ${esc(s.sagaId)}">Approve</button>
<button type="button" data-action="reject" data-saga="${esc(s.sagaId)}" aria-label="Reject ${esc(s.sagaId)}">Reject</button>`
          : '';
      const steps = `/board/saga?id=${encodeURIComponent(s.sagaId)}`;
      return `<tr data-saga="${esc(s.sagaId)}"><th scope="row"><a href="${esc(ui)}">${esc(s.sagaId)}</a> <a href="${esc(steps)}" aria-label="Steps of ${esc(s.sagaId)}">steps</a></th><td>${esc(s.group)}</td>
<td data-col="state">${esc(s.state ?? s.status)}</td><td>${esc(s.step ?? '')}</td><td>${esc(s.startTime)}</td><td>${buttons}</td></tr>`;
    })
    .join('\n');
  return `<table aria-label="Sagas in flight">
<caption>Sagas: awaiting approval, running, failed in the last hour</caption>
<thead><tr><th scope="col">Saga</th><th scope="col">Group</th><th scope="col">State</th><th scope="col">Step</th><th scope="col">Started</th><th scope="col">Actions</th></tr></thead>
<tbody>${body || '<tr><td colspan="6">No sagas in flight.</td></tr>'}</tbody>
</table>`;
}

export function taskSection(id: string, view: TaskView | undefined, uiBase: string): string {
  if (!view) return `<p role="alert">No task ${esc(id)} (unknown id, or its record expired).</p>`;
  const i = view.info;
  const activity = (view.payload as { activity?: { workflowId?: string; runId?: string } } | undefined)
    ?.activity;
  const saga =
    activity?.workflowId && activity.runId
      ? `<p>Saga step of <a href="${esc(`${uiBase}/workflows/${encodeURIComponent(activity.workflowId)}/${encodeURIComponent(activity.runId)}/history`)}">${esc(activity.workflowId)} in the Temporal UI</a>; <a href="/board/saga?id=${encodeURIComponent(activity.workflowId)}">the saga's steps</a>.</p>`
      : '';
  const rows: [string, string][] = [
    ['Task id', esc(i.taskId)],
    ['Type', esc(i.type)],
    ['Lane', esc(i.lane)],
    ['Status', `<span data-field="status">${esc(i.status)}</span>`],
    ['Deliveries', `${i.attempts} of ${i.maxAttempts}`],
    ['Submitted', time(i.submittedAt)],
    ['Started', time(i.startedAt)],
    ['Finished', time(i.finishedAt)],
    ['Waited', i.startedAt ? ms(i.startedAt - i.submittedAt) : '–'],
    ['Ran', i.startedAt && i.finishedAt ? ms(i.finishedAt - i.startedAt) : '–'],
  ];
  return `${saga}<table aria-label="Task record"><caption>Task ${esc(i.taskId)}</caption><tbody>
${rows.map(([k, v]) => `<tr><th scope="row">${k}</th><td>${v}</td></tr>`).join('\n')}
</tbody></table>
<h3>Payload</h3><pre class="payload" aria-label="Payload">${view.payload === undefined ? '(not kept: the lane deletes a task’s entry when it finishes)' : esc(pretty(view.payload))}</pre>
${i.result !== undefined ? `<h3>Result</h3><pre aria-label="Result">${esc(pretty(i.result))}</pre>` : ''}
${i.error !== undefined ? `<h3>Error</h3><pre class="error" aria-label="Error">${esc(i.error)}</pre>` : ''}`;
}

/** A saga's steps and compensations, each lane-dispatched one linked to its lane task. */
export function sagaSection(id: string, view: SagaStateView | string, uiBase: string): string {
  if (typeof view === 'string') return `<p role="alert">Saga ${esc(id)}: ${esc(view)}</p>`;
  const task = (taskId?: string) =>
    taskId ? `<a href="/board/task?id=${encodeURIComponent(taskId)}">${esc(taskId)}</a>` : '–';
  const ui = `${uiBase}/workflows/${encodeURIComponent(view.sagaId)}/${encodeURIComponent(view.runId)}/history`;
  const steps = view.steps
    .map(
      (
        st,
      ) => `<tr><th scope="row">${esc(st.name)}</th><td>${esc(st.status)}</td><td class="n">${st.attempts}</td>
<td>${esc(st.startedAt)}</td><td>${esc(st.finishedAt ?? '')}</td><td>${esc(st.lane ?? '')}</td><td>${task(st.taskId)}</td></tr>`,
    )
    .join('\n');
  const comps = view.compensations
    .map(
      (c) =>
        `<tr><th scope="row">${esc(c.step)}</th><td>${esc(c.status)}</td><td>${esc(c.lane ?? '')}</td><td>${task(c.taskId)}</td><td class="error">${esc(c.error ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<p>State <strong data-field="saga-state">${esc(view.state)}</strong>${view.currentStep ? `, at ${esc(view.currentStep)}` : ''}. <a href="${esc(ui)}">In the Temporal UI</a>.</p>
<table aria-label="Steps"><caption>Steps</caption>
<thead><tr><th scope="col">Step</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Lane</th><th scope="col">Lane task</th></tr></thead>
<tbody>${steps || '<tr><td colspan="7">No steps yet.</td></tr>'}</tbody></table>
${comps ? `<table aria-label="Compensations"><caption>Compensations</caption><thead><tr><th scope="col">Step</th><th scope="col">Status</th><th scope="col">Lane</th><th scope="col">Lane task</th><th scope="col">Error</th></tr></thead><tbody>${comps}</tbody></table>` : ''}
${view.error ? `<h3>Error</h3><pre class="error">${esc(pretty(view.error))}</pre>` : ''}`;
}

/** The sign-in form; `nonce` is its login-CSRF nonce (also in a cookie the board sets with it). */
export function loginPage(message?: string, nonce = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · sagalane lane board</title><link rel="stylesheet" href="/board/board.css"></head>
<body><main><h1>sagalane lane board</h1>
${message ? `<p role="alert">${esc(message)}</p>` : ''}
<form method="post" action="/board/login"><input type="hidden" name="login_nonce" value="${esc(nonce)}"><label>Token (SAGALANE_MCP_TOKEN) <input type="password" name="token" required autocomplete="current-password"></label> <button type="submit">Sign in</button></form>
</main></body></html>
`;
}
