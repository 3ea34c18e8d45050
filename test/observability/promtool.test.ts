/**
 * The alert rules are valid, their unit tests pass, and every alert carries what an on-call engineer needs:
 * severity, summary, a description with the series' labels or value, and a runbook section that exists.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const promDir = path.join(root, 'deploy', 'prometheus');

function findPromtool(): string {
  const candidates = [
    ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'promtool')),
    '/usr/bin/promtool',
  ];
  const found = candidates.find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) {
    throw new Error(
      'promtool is not installed, so the alert rules cannot be checked. Install it (Debian/Ubuntu: ' +
        '`apt-get install prometheus`, which .ci/run does) or put a promtool binary on PATH.',
    );
  }
  return found;
}

function promtool(args: string[], cwd = promDir): { status: number | null; output: string } {
  const r = spawnSync(findPromtool(), args, { cwd, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

interface AlertBlock {
  name: string;
  group: string;
  text: string;
}

/** Splits alerts.yml into alert blocks by its (fixed, two-space) layout: `- name:` groups, `- alert:` rules. */
function alertBlocks(): AlertBlock[] {
  const blocks: AlertBlock[] = [];
  let group = '';
  let current: AlertBlock | undefined;
  for (const line of fs.readFileSync(path.join(promDir, 'alerts.yml'), 'utf8').split('\n')) {
    const g = /^ {2}- name: (\S+)/.exec(line);
    const a = /^ {6}- (?:alert|record): (\S+)/.exec(line);
    if (g || a) {
      if (current) blocks.push(current);
      current = undefined;
    }
    if (g) group = g[1]!;
    if (a && line.includes('alert:')) current = { name: a[1]!, group, text: '' };
    else if (current) current.text += line + '\n';
  }
  if (current) blocks.push(current);
  return blocks;
}

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to dashes. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    anchors.add(
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  }
  return anchors;
}

describe('Prometheus alert rules', () => {
  it('pass `promtool check rules`', () => {
    const r = promtool(['check', 'rules', 'alerts.yml']);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it('pass their unit tests (`promtool test rules alerts.test.yml`)', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yml']);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('fail the unit tests when an alert threshold is broken (the tests can fail)', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-promtool-'));
    try {
      const rules = fs.readFileSync(path.join(promDir, 'alerts.yml'), 'utf8').replace('> 0.5\n', '> 5\n'); // NodeEventLoopLagHigh now needs 5 s of lag
      expect(rules).toContain('nodejs_eventloop_lag_p99_seconds{job=~"saga-worker|express-worker|mcp"} > 5');
      fs.writeFileSync(path.join(tmp, 'alerts.yml'), rules);
      fs.copyFileSync(path.join(promDir, 'alerts.test.yml'), path.join(tmp, 'alerts.test.yml'));
      const r = promtool(['test', 'rules', 'alerts.test.yml'], tmp);
      expect(r.status).not.toBe(0);
      expect(r.output).toContain('NodeEventLoopLagHigh');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('has at least 12 alerts in at least 5 groups, each with severity, summary, templated description and runbook', () => {
    const alerts = alertBlocks();
    expect(alerts.length).toBeGreaterThanOrEqual(12);
    expect(new Set(alerts.map((a) => a.group)).size).toBeGreaterThanOrEqual(5);
    const runbook = fs.readFileSync(path.join(root, 'docs', 'RUNBOOK.md'), 'utf8');
    const anchors = anchorsOf(runbook);
    for (const a of alerts) {
      const problems: string[] = [];
      if (!/severity: (page|critical|warning)\n/.test(a.text)) problems.push('severity');
      if (!/summary: \S/.test(a.text)) problems.push('summary');
      const description = /description: >-\n([\s\S]*?)\n {10}runbook_url/.exec(a.text)?.[1] ?? '';
      if (!/\{\{ \$(labels\.\w+|value)/.test(description)) problems.push('description with $labels/$value');
      const runbookUrl = /runbook_url: docs\/RUNBOOK\.md#(\S+)/.exec(a.text)?.[1];
      if (runbookUrl !== a.name.toLowerCase()) problems.push(`runbook_url #${a.name.toLowerCase()}`);
      else if (!anchors.has(runbookUrl)) problems.push(`RUNBOOK.md section "${a.name}"`);
      expect({ alert: a.name, missing: problems }).toEqual({ alert: a.name, missing: [] });
    }
  });

  it('has a unit test for every alert', () => {
    const tests = fs.readFileSync(path.join(promDir, 'alerts.test.yml'), 'utf8');
    const tested = new Set([...tests.matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    const untested = alertBlocks()
      .map((a) => a.name)
      .filter((n) => !tested.has(n));
    expect(untested).toEqual([]);
  });

  it('ship a Prometheus config that loads them and scrapes every sagalane process', () => {
    const r = promtool(['check', 'config', 'prometheus.yml']);
    expect(r.status).toBe(0);
    const config = fs.readFileSync(path.join(promDir, 'prometheus.yml'), 'utf8');
    for (const job of ['saga-worker', 'temporal-sdk', 'express-worker', 'mcp']) {
      expect(config).toContain(`job_name: ${job}`);
    }
    expect(config).toContain('alerts.yml');
  });
});

describe('Grafana dashboard', () => {
  it('is valid JSON whose panels query sagalane metrics that exist', () => {
    const dashboard = JSON.parse(
      fs.readFileSync(path.join(root, 'deploy', 'grafana', 'sagalane-dashboard.json'), 'utf8'),
    ) as { title: string; panels: { title: string; targets?: { expr: string }[] }[] };
    const metricsSource = fs.readFileSync(path.join(root, 'src', 'observability', 'metrics.ts'), 'utf8');
    const known = new Set([...metricsSource.matchAll(/'(sagalane_[a-z_]+)'/g)].map((m) => m[1]));
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    const used = new Set(
      exprs.flatMap((e) =>
        [...e.matchAll(/\b(sagalane_[a-z_]+?)(?:_bucket|_count|_sum)?\b/g)].map((m) => m[1]),
      ),
    );
    const unknown = [...used].filter((m) => !known.has(m!));
    expect(unknown).toEqual([]);
    expect(exprs.some((e) => e.includes('histogram_quantile'))).toBe(true);
  });
});
