/**
 * `npm run temporal:postgres`: Temporal on PostgreSQL in the foreground, with the Web UI, until Ctrl-C.
 *
 * Reads SAGALANE_POSTGRES_URL (default the local PostgreSQL), SAGALANE_TEMPORAL_PORT (frontend, default 7233),
 * SAGALANE_TEMPORAL_UI_PORT (default 8233; `off` for none) and SAGALANE_DATA_DIR (the server's config and log go to
 * `<dataDir>/temporal-postgres`). Point sagalane at it with TEMPORAL_ADDRESS=127.0.0.1:<port>.
 */
import { loadConfigOrExit } from '../config';
import { untilSignalled } from '../runtime/signals';
import {
  devTemporalPostgresOptions,
  startTemporalOnPostgres,
  type TemporalPostgresServer,
} from './temporal-postgres';

/** This script's options: those of `sagalane dev --persistence postgres`, and SAGALANE_TEMPORAL_UI_PORT=off. */
function optionsFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const withoutUi = env.SAGALANE_TEMPORAL_UI_PORT === 'off';
  const config = loadConfigOrExit(withoutUi ? { ...env, SAGALANE_TEMPORAL_UI_PORT: undefined } : env);
  return {
    ...devTemporalPostgresOptions(config, env),
    uiPort: withoutUi ? undefined : config.temporal.devUiPort,
  };
}

async function main(): Promise<void> {
  const log = (l: string) => process.stdout.write(l + '\n');
  const until = untilSignalled();
  let server: TemporalPostgresServer | undefined;
  try {
    server = await startTemporalOnPostgres({ ...optionsFromEnv(), log });
    log('');
    log(`Temporal gRPC  ${server.address} (namespace ${server.namespace})`);
    if (server.uiUrl) log(`Temporal UI    ${server.uiUrl}`);
    log(`Server log     ${server.logFile}`);
    log(`Use it:        TEMPORAL_ADDRESS=${server.address} npx sagalane dev`);
    log('Press Ctrl-C to stop.');
    await until;
  } finally {
    if (server) {
      log('[sagalane] Stopping the Temporal server...');
      await server.stop();
      log('[sagalane]   stopped');
    }
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
