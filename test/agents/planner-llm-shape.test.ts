/**
 * The LLM planner's plans are held to the built-in planner's account of the idea's numbers (issue 30), through the
 * one schema both pass (`planSchemaForIdea`): each number understood with its parameter or quoted in assumed with a
 * reason, never both. Against a local OpenAI-compatible HTTP server (the provider, in-process): a reply that fits
 * is used; one that does not is asked for again with the reasons, and when it still does not fit the built-in
 * reader answers and the plan says why.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { StrategyPlan } from '../../src/activities/research/contracts';
import { planWithLlmOrFallback, type LlmSettings } from '../../src/activities/research/llm-planner';
import { planFromIdea, planSchemaForIdea } from '../../src/activities/research/strategy-plan';

type Reply = Record<string, unknown>;

describe('LLM plans give the same understood/assumed account as the built-in reader', () => {
  let server: http.Server;
  const sockets = new Set<Socket>();
  let settings: LlmSettings;
  /** Replies to send, in order; the last one repeats. */
  let replies: Reply[] = [];
  let requests: { messages: { role: string; content: string }[] }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        requests.push(JSON.parse(raw));
        const reply = replies.length > 1 ? replies.shift()! : replies[0]!;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ choices: [{ message: { role: 'assistant', content: JSON.stringify(reply) } }] }),
          );
      });
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    settings = { baseUrl: `http://127.0.0.1:${port}/v1`, model: 'shape-model', timeoutMs: 10_000 };
  });
  beforeEach(() => {
    requests = [];
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const rsiIdea = 'Buy when RSI drops under 25, exit above 80';
  const rsiRanges = {
    period: { min: 7, max: 21, step: 7 },
    lower: { min: 15, max: 35, step: 5 },
    upper: { min: 70, max: 90, step: 5 },
  };
  const fitting: Reply = {
    family: 'rsi',
    parameterRanges: rsiRanges,
    rationale: 'oversold bounces',
    direction: 'long_only',
    understood: [
      { phrase: 'RSI', meaning: 'family rsi' },
      { phrase: 'under 25', meaning: 'lower ≈ 25' },
      { phrase: 'exit above 80', meaning: 'upper ≈ 80' },
    ],
    assumed: ['period: the default search range'],
    familySource: 'idea',
  };
  // The contradiction the issue reported from the built-in reader, now coming from a model.
  const contradicting: Reply = { ...fitting, assumed: ['ignored "80": not a parameter of rsi'] };

  const plan = async (idea: string, options = {}) =>
    (await planWithLlmOrFallback(settings, idea, 'DEMO', options)) as {
      plan: StrategyPlan;
      fellBack: boolean;
    };

  it('a reply that accounts for every number once is used, and passes the schema the built-in plan passes', async () => {
    replies = [fitting];
    const { plan: got, fellBack } = await plan(rsiIdea);
    expect(fellBack).toBe(false);
    expect(got).toEqual({ ...fitting, provider: 'llm:shape-model' });
    expect(requests).toHaveLength(1);
    const schema = planSchemaForIdea(rsiIdea);
    expect(schema.safeParse(got).error?.issues ?? []).toEqual([]);
    expect(schema.safeParse(planFromIdea(rsiIdea, 'DEMO')).error?.issues ?? []).toEqual([]);
  });

  it('a reply putting a number in both understood and assumed is asked again with the reason, then used', async () => {
    replies = [contradicting, fitting];
    const { plan: got, fellBack } = await plan(rsiIdea);
    expect(fellBack).toBe(false);
    expect(got.provider).toBe('llm:shape-model');
    expect(requests).toHaveLength(2);
    expect(requests[1]!.messages.at(-1)!.content).toMatch(
      /previous reply was refused: LLM plan failed validation: understood: "80" is both understood \("exit above 80" → upper ≈ 80\) and in assumed/,
    );
  });

  it.each([
    ['puts "80" in both understood and assumed', contradicting, /"80" is both understood/],
    [
      'leaves a number out',
      { ...fitting, understood: (fitting.understood as unknown[]).slice(0, 2) },
      /"80" is neither in an understood phrase nor quoted in assumed/,
    ],
    [
      'understands a number its range does not hold',
      { ...fitting, parameterRanges: { ...rsiRanges, upper: { min: 60, max: 70, step: 5 } } },
      /understood "exit above 80" → upper ≈ 80, but the upper range is 60..70/,
    ],
    [
      'paraphrases the words that hold a number',
      {
        ...fitting,
        understood: [
          ...(fitting.understood as unknown[]).slice(0, 2),
          { phrase: 'sell at 80', meaning: 'upper ≈ 80' },
        ],
      },
      /"80" is neither in an understood phrase nor quoted in assumed/,
    ],
  ])(
    'a reply that %s twice: the built-in reader answers, with the reason first in assumed',
    async (_, reply, why) => {
      replies = [reply];
      const { plan: got, fellBack } = await plan(rsiIdea);
      expect(fellBack).toBe(true);
      expect(requests).toHaveLength(2);
      expect(got.provider).toBe('builtin (fallback from llm:shape-model)');
      expect(got.assumed![0]).toMatch(/^the LLM planner failed \(LLM plan failed validation: /);
      expect(got.assumed![0]).toMatch(why);
      // The rest is the built-in reader's plan, which holds the same account.
      const builtin = planFromIdea(rsiIdea, 'DEMO');
      expect({ ...got, provider: builtin.provider, assumed: got.assumed!.slice(1) }).toEqual(builtin);
      expect(planSchemaForIdea(rsiIdea).safeParse(builtin).success).toBe(true);
    },
  );

  it('tells the model the rule and the bar frequency it assumes; the fallback reads periods the same way', async () => {
    const idea = 'momentum over a quarter';
    replies = [{ family: 'momentum', parameterRanges: {}, rationale: 'x', understood: [], assumed: [] }];
    const { plan: got, fellBack } = await plan(idea, { barFrequency: 'weekly' });
    const system = requests[0]!.messages[0]!.content;
    expect(system).toMatch(/Every number written in the idea .* goes in exactly one place, never both/);
    expect(system).toContain('ignored "<the number as written>": <why>');
    expect(system).toContain(
      'Periods are counted in bars of weekly data (bars per week 1, fortnight 2, month 4.33, quarter 13, year 52)',
    );
    expect(fellBack).toBe(true);
    expect(got.parameterRanges.lookback).toEqual(
      planFromIdea(idea, 'DEMO', { barFrequency: 'weekly' }).parameterRanges.lookback,
    );
    expect(got.understood).toContainEqual({ phrase: 'a quarter', meaning: 'lookback ≈ 13' });
  });
});
