/**
 * The run's Temporal server (global-setup.ts with SAGALANE_TEST_TEMPORAL=postgres) is a real Temporal server on
 * PostgreSQL with the compose stack's dynamic config, and its setup can run again.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { DYNAMIC_CONFIG_PATH, setupTemporalSchemas } from '../../src/dev/temporal-postgres';
import { cachedBinaryPath, TEMPORAL_SERVER } from '../../src/dev/temporal-postgres-binaries';
import { parsePostgresUrl } from '../../src/dev/temporal-postgres-config';
import { SAGA_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import { TEST_POSTGRES_URL } from '../helpers/temporal-postgres';
import { temporalAddress } from '../helpers/temporal';

describe('Temporal server on PostgreSQL (the test run’s own)', () => {
  let connection: Connection;
  beforeAll(async () => {
    connection = await Connection.connect({ address: temporalAddress() });
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('keeps history and visibility in PostgreSQL, on server 1.29.1', async () => {
    const info = await connection.workflowService.getClusterInfo({});
    expect({
      persistence: info.persistenceStore,
      visibility: info.visibilityStore,
      version: info.serverVersion,
    }).toEqual({ persistence: 'postgres12', visibility: 'postgres12', version: '1.29.1' });
  });

  it('has the saga search attributes as Keywords in the default namespace', async () => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: 'default',
    });
    for (const attribute of SAGA_SEARCH_ATTRIBUTES) {
      // 2 = INDEXED_VALUE_TYPE_KEYWORD
      expect({ name: attribute.name, type: customAttributes?.[attribute.name] }).toEqual({
        name: attribute.name,
        type: 2,
      });
    }
  });

  it('accepts the compose stack’s dynamic config file without a warning (and warns on a bad one)', () => {
    const validate = (file: string) =>
      execFileSync(cachedBinaryPath(TEMPORAL_SERVER), ['validate-dynamic-config', file], {
        encoding: 'utf8',
      });
    expect(validate(DYNAMIC_CONFIG_PATH).trim()).toBe(DYNAMIC_CONFIG_PATH);

    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-dc-')), 'bad.yaml');
    fs.writeFileSync(
      bad,
      'system.enableActivityEagerExecution:\n  - value: "yes"\nhistory.noSuchKey:\n  - value: 1\n',
    );
    const out = validate(bad);
    expect(out).toContain('warning: unregistered key "history.noSuchKey"');
    expect(out).toContain('system.enableActivityEagerExecution');
  });

  it('sets up the schemas again without error while the server runs (idempotent re-run)', async () => {
    const lines: string[] = [];
    await setupTemporalSchemas(parsePostgresUrl(TEST_POSTGRES_URL), { log: (l) => lines.push(l) });
    expect(lines.filter((l) => l.includes('update-schema'))).toHaveLength(2);
    // The server still answers on the same schema.
    const info = await connection.workflowService.getClusterInfo({});
    expect(info.persistenceStore).toBe('postgres12');
  });
});
