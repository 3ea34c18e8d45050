/**
 * Connection options for a local dev server, a self-hosted cluster (mTLS) or Temporal Cloud (API key), from the
 * config. Workers (NativeConnection) and clients (Connection) share them.
 */
import fs from 'node:fs';
import { Connection } from '@temporalio/client';
import type { TemporalSettings } from '../config';

export interface ConnectionSettings {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

export function connectionSettings(t: TemporalSettings, address = t.address): ConnectionSettings {
  if (!address) {
    throw new Error('TEMPORAL_ADDRESS is not set and no local dev server address was given');
  }
  const read = (p: string | undefined, variable: string) => {
    if (!p) return undefined;
    try {
      return fs.readFileSync(p);
    } catch (err) {
      throw new Error(`${variable}=${p} cannot be read: ${(err as Error).message}`);
    }
  };
  const crt = read(t.tlsCertPath, 'TEMPORAL_TLS_CERT_PATH');
  const key = read(t.tlsKeyPath, 'TEMPORAL_TLS_KEY_PATH');
  if ((crt && !key) || (key && !crt)) {
    throw new Error('TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH must be set together');
  }
  return {
    address,
    apiKey: t.apiKey,
    tls: t.tls
      ? {
          serverNameOverride: t.tlsServerName,
          serverRootCACertificate: read(t.tlsCaPath, 'TEMPORAL_TLS_CA_PATH'),
          clientCertPair: crt && key ? { crt, key } : undefined,
        }
      : undefined,
  };
}

export function connectTemporal(t: TemporalSettings, address = t.address): Promise<Connection> {
  return Connection.connect(connectionSettings(t, address));
}
