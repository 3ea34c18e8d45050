/**
 * The page tokens `SagaClient` hands out: Temporal's own list token as base64url, and for history pages a cursor of
 * its own (the server's token plus the last event id already returned), so callers see plain strings either way.
 */
import { SagaClientOptionsError } from './errors';

export function decodeToken(token: string | undefined): Uint8Array | undefined {
  if (token === undefined || token === '') return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(token))
    throw new SagaClientOptionsError('nextPageToken is not a token returned by a previous page');
  return Buffer.from(token, 'base64url');
}

export function encodeToken(token: Uint8Array | null | undefined): string | undefined {
  return token && token.length > 0 ? Buffer.from(token).toString('base64url') : undefined;
}

export interface HistoryCursor {
  serverToken?: string;
  after: number;
}

export function decodeHistoryToken(token: string | undefined): HistoryCursor {
  if (!token) return { after: 0 };
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as HistoryCursor;
    if (
      typeof parsed.after === 'number' &&
      (parsed.serverToken === undefined || typeof parsed.serverToken === 'string')
    )
      return parsed;
  } catch {
    // fall through to the error below
  }
  throw new SagaClientOptionsError('nextPageToken is not a token returned by a previous history page');
}

export function encodeHistoryToken(cursor: HistoryCursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}
