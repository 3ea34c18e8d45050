/**
 * No secrets out of the LLM provider's errors (#25 finding 6): the message and details of an LlmProviderError, and
 * the fallback plan's `assumed` line that carries it into saga state, hold no credentials of the base URL and at
 * most a short cut of the provider's reply with anything that looks like a key taken out.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LlmProviderError } from '../../src/activities/research/errors';
import {
  planWithLlm,
  planWithLlmOrFallback,
  type LlmSettings,
} from '../../src/activities/research/llm-planner';

const API_KEY = 'sk-proj-Abc123def456GHI789jkl012MNO345pqr678';
const HEX_TOKEN = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const B64_TOKEN = 'QWxhZGRpbjpvcGVuIHNlc2FtZSBhbmQgbW9yZSBzZWNyZXQ9PQ';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

describe('LLM provider errors carry no secrets', () => {
  let server: http.Server;
  let port: number;
  let reply = '';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(401, { 'content-type': 'application/json' }).end(reply));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const settings = (baseUrl: string): LlmSettings => ({
    baseUrl,
    model: 'm',
    apiKey: API_KEY,
    timeoutMs: 5000,
  });

  async function failure(promise: Promise<unknown>): Promise<LlmProviderError> {
    try {
      await promise;
    } catch (err) {
      if (err instanceof LlmProviderError) return err;
      throw err;
    }
    throw new Error('expected an LlmProviderError');
  }

  const leaks = (text: string) =>
    [API_KEY, HEX_TOKEN, B64_TOKEN, JWT, 'url-password', 'query-secret', 'bearer-secret-value'].filter((s) =>
      text.includes(s),
    );

  it('cuts the reply to 200 characters and strips keys, Bearer tokens, long hex and base64 runs', async () => {
    reply = JSON.stringify({
      error: {
        message: `Incorrect API key provided: ${API_KEY}. Authorization: Bearer bearer-secret-value`,
        request: HEX_TOKEN,
        session: B64_TOKEN,
        jwt: JWT,
      },
    });
    const err = await failure(
      planWithLlm(settings(`http://127.0.0.1:${port}/v1?api-key=query-secret`), 'breakouts', 'DEMO'),
    );
    expect(err.message).toContain('HTTP 401');
    expect(err.message).toContain('Incorrect API key provided');
    expect(leaks(err.message)).toEqual([]);
    expect(leaks(JSON.stringify(err.details))).toEqual([]);
    const replyPart = err.message.slice(err.message.indexOf('HTTP 401: ') + 'HTTP 401: '.length);
    expect(replyPart.length).toBeLessThanOrEqual(201);
  });

  it('names the base URL without its credentials, even when fetch refuses them', async () => {
    const err = await failure(
      planWithLlm(settings(`http://llm-user:url-password@127.0.0.1:${port}/v1`), 'breakouts', 'DEMO'),
    );
    expect(err.message).toContain(`127.0.0.1:${port}/v1`);
    expect(leaks(err.message)).toEqual([]);
    expect(leaks(JSON.stringify(err.details))).toEqual([]);
  });

  it('the fallback plan that records the failure in saga state carries none either', async () => {
    reply = `upstream overloaded ${API_KEY} ${HEX_TOKEN}`;
    const failing = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(503).end(reply));
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://llm-user:url-password@127.0.0.1:${(failing.address() as AddressInfo).port}/v1`;
      const { plan, fellBack } = await planWithLlmOrFallback(settings(url), 'breakouts', 'DEMO');
      expect(fellBack).toBe(true);
      expect(leaks(JSON.stringify(plan))).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => failing.close(() => resolve()));
    }
  });
});
