// The support-ticket saga end to end, as its user runs it: `sagalane dev` with this project's catalog
// (SAGALANE_SAGAS=./dist/sagas.js, on free ports), then the sagalane CLI: list the types, start a ticket and wait,
// approve one, cancel one. `npm test` builds first; it needs Redis (REDIS_URL, or a redis-server sagalane can start)
// and the Temporal CLI that `sagalane dev` finds or builds.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'node_modules', '.bin', 'sagalane');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'support-ticket-'));
const env = {
  ...process.env,
  SAGALANE_SAGAS: path.join(root, 'dist', 'sagas.js'),
  SAGALANE_DATA_DIR: path.join(work, 'data'),
  SAGALANE_KEY_PREFIX: `support-ticket-test-${process.pid}`,
  SAGALANE_LOG_LEVEL: 'warn',
  OUTBOX_DIR: path.join(work, 'outbox'),
};
let dev;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `sagalane <args>` → { code, stdout, stderr }. */
function sagalane(args) {
  return new Promise((resolve) => {
    execFile(bin, args, { env, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function json(args) {
  const run = await sagalane([...args, '--json']);
  assert.equal(run.code, 0, `sagalane ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

async function until(what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const ticket = (id, extra = {}) =>
  JSON.stringify({
    ticketId: id,
    customer: 'Ada',
    subject: 'Charged twice',
    body: 'My invoice shows a second charge, please refund it.',
    ...extra,
  });

before(async () => {
  const temporalPort = await freePort();
  Object.assign(env, {
    SAGALANE_TEMPORAL_PORT: String(temporalPort),
    SAGALANE_TEMPORAL_UI_PORT: String(await freePort()),
    // Ports the test does not talk to are the system's pick (0) or off: a port picked here and released could be
    // taken meanwhile (the Temporal dev server picks its own metrics port at random).
    SAGALANE_MCP_PORT: '0',
    SAGALANE_METRICS_PORT: '0',
    SAGALANE_TEMPORAL_METRICS_PORT: 'off',
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
  });
  // `sagalane dev` itself starts its own Temporal dev server: only the CLI commands below use TEMPORAL_ADDRESS.
  const devEnv = { ...env };
  delete devEnv.TEMPORAL_ADDRESS;
  dev = spawn(bin, ['dev'], { env: devEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  dev.stdout.on('data', (c) => (out += c));
  dev.stderr.on('data', (c) => (out += c));
  await until(
    'sagalane dev to be up',
    () => out.includes('Press Ctrl-C to stop') || (dev.exitCode !== null && Promise.reject(new Error(out))),
    180_000,
  );
  assert.match(out, /sagas supportTicket/);
});

after(async () => {
  if (dev && dev.exitCode === null) {
    const exited = new Promise((r) => dev.once('exit', r));
    process.kill(-dev.pid, 'SIGINT');
    await exited;
  }
  fs.rmSync(work, { recursive: true, force: true });
});

test('saga types lists supportTicket with its input schema', async () => {
  const types = await json(['saga', 'types']);
  assert.deepEqual(
    types.map((t) => [t.type, t.tool]),
    [['supportTicket', 'start_support_ticket']],
  );
  assert.deepEqual(types[0].inputSchema.required, ['ticketId', 'customer', 'subject', 'body']);
});

test('a ticket runs to completion: classified, drafted and posted, each step a lane task', async () => {
  const final = await json(['saga', 'start', 'supportTicket', '--input', ticket('t-1'), '--wait']);
  assert.equal(final.state, 'completed');
  assert.equal(final.result.category, 'billing');
  assert.match(final.result.reply, /^Dear Ada,/);
  assert.equal(fs.readFileSync(final.result.file, 'utf8'), final.result.reply);
  assert.deepEqual(
    final.steps.map((s) => [s.name, s.lane]),
    [
      ['classify', 'express'],
      ['draftReply', 'standard'],
      ['postReply', 'standard'],
    ],
  );
  for (const step of final.steps) assert.ok(step.taskId, `${step.name} ran as a lane task`);
});

test('an urgent ticket runs on the express lane; an approved one posts only once approved', async () => {
  const urgent = await json([
    'saga',
    'start',
    'supportTicket',
    '--input',
    ticket('t-2', { urgent: true }),
    '--wait',
  ]);
  assert.deepEqual(
    urgent.steps.map((s) => s.lane),
    ['express', 'express', 'express'],
  );

  const started = await json([
    'saga',
    'start',
    'supportTicket',
    '--input',
    ticket('t-3', { approval: true }),
  ]);
  await until(
    'the approval gate',
    async () => (await json(['saga', 'get', started.sagaId])).state === 'awaiting_approval',
  );
  assert.equal(fs.existsSync(path.join(env.OUTBOX_DIR, 'sent', 't-3.txt')), false);
  await json(['saga', 'approve', started.sagaId, '--approver', 'lead']);
  const done = await until('completion', async () => {
    const s = await json(['saga', 'get', started.sagaId]);
    return s.state === 'completed' && s;
  });
  assert.ok(fs.existsSync(done.result.file));
});

test('a cancelled ticket rolls back: its label and draft are gone', async () => {
  const started = await json([
    'saga',
    'start',
    'supportTicket',
    '--input',
    ticket('t-4', { approval: true }),
  ]);
  await until(
    'the approval gate',
    async () => (await json(['saga', 'get', started.sagaId])).state === 'awaiting_approval',
  );
  assert.ok(fs.existsSync(path.join(env.OUTBOX_DIR, 'drafts', 't-4.txt')));
  await json(['saga', 'cancel', started.sagaId, '--reason', 'duplicate ticket']);
  const final = await until('the rollback', async () => {
    const s = await json(['saga', 'get', started.sagaId]);
    return s.state === 'rolled_back' && s;
  });
  assert.deepEqual(
    final.compensations.map((c) => [c.step, c.status]),
    [
      ['draftReply', 'completed'],
      ['classify', 'completed'],
    ],
  );
  assert.equal(fs.existsSync(path.join(env.OUTBOX_DIR, 'drafts', 't-4.txt')), false);
  assert.equal(fs.existsSync(path.join(env.OUTBOX_DIR, 'labels', 't-4.json')), false);
});

test('bad input is refused before anything starts, naming the field', async () => {
  const run = await sagalane(['saga', 'start', 'supportTicket', '--input', '{"ticketId":"has space"}']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /ticketId: letters, digits and -/);
});
