import {
  DEFAULT_POSTGRES_URL,
  parsePostgresUrl,
  PostgresUrlError,
  renderServerConfig,
  renderUiConfig,
  serverPorts,
} from '../../src/dev/temporal-postgres-config';

describe('SAGALANE_POSTGRES_URL', () => {
  it('defaults to the local PostgreSQL as user postgres, database sagalane_temporal', () => {
    expect(parsePostgresUrl(undefined)).toEqual({
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      password: '',
      database: 'sagalane_temporal',
      visibilityDatabase: 'sagalane_temporal_visibility',
    });
    expect(parsePostgresUrl(DEFAULT_POSTGRES_URL).database).toBe('sagalane_temporal');
  });

  it('takes user, password, host, port and database from the URL', () => {
    expect(parsePostgresUrl('postgresql://temporal:s%40cret@db.internal:6543/temporal')).toEqual({
      host: 'db.internal',
      port: 6543,
      user: 'temporal',
      password: 's@cret',
      database: 'temporal',
      visibilityDatabase: 'temporal_visibility',
    });
  });

  it.each([
    ['mysql://root@127.0.0.1/temporal', 'must start with postgres://'],
    ['127.0.0.1:5432', 'is not a URL'],
    ['not a url', 'is not a URL'],
    ['postgres://postgres@127.0.0.1/Temporal-DB', 'lower-case letters'],
  ])('refuses %s with a message that says what to use', (url, problem) => {
    expect(() => parsePostgresUrl(url)).toThrow(PostgresUrlError);
    expect(() => parsePostgresUrl(url)).toThrow(problem);
    expect(() => parsePostgresUrl(url)).toThrow('postgres://user[:password]@host[:port][/database]');
  });
});

describe('Temporal server ports', () => {
  it('lays every port out from the frontend’s like Temporal’s defaults around 7233', () => {
    expect(serverPorts(7233)).toEqual({
      frontend: 7233,
      frontendHttp: 7243,
      history: 7234,
      matching: 7235,
      worker: 7239,
      frontendMembership: 6933,
      historyMembership: 6934,
      matchingMembership: 6935,
      workerMembership: 6939,
    });
  });

  it('refuses a frontend port whose membership ports PostgreSQL cannot store (smallint) or that are below 1024', () => {
    expect(() => serverPorts(1000)).toThrow(RangeError);
    expect(() => serverPorts(33062)).toThrow('1324..33061');
    expect(serverPorts(33061).workerMembership).toBe(32767);
  });
});

describe('server and UI config files', () => {
  const pg = parsePostgresUrl('postgres://temporal:pw@127.0.0.1:5432/sagalane_temporal_test');
  const config = JSON.parse(
    renderServerConfig({
      pg,
      ports: serverPorts(17233),
      dynamicConfigPath: '/repo/deploy/temporal/dynamicconfig.yaml',
    }),
  );

  it('puts history in <db> and visibility in <db>_visibility, both with the postgres12 plugin', () => {
    const stores = config.persistence.datastores;
    expect(stores[config.persistence.defaultStore].sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'sagalane_temporal_test',
      connectAddr: '127.0.0.1:5432',
      user: 'temporal',
      password: 'pw',
    });
    expect(stores[config.persistence.visibilityStore].sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'sagalane_temporal_test_visibility',
    });
    expect(config.persistence.numHistoryShards).toBe(4);
  });

  it('binds every service to loopback on the derived ports and reads the given dynamic config file', () => {
    expect(config.services.frontend.rpc).toEqual({
      grpcPort: 17233,
      membershipPort: 16933,
      bindOnLocalHost: true,
      httpPort: 17243,
    });
    expect(config.services.history.rpc.grpcPort).toBe(17234);
    expect(config.clusterMetadata.clusterInformation.active.rpcAddress).toBe('127.0.0.1:17233');
    expect(config.dynamicConfigClient.filepath).toBe('/repo/deploy/temporal/dynamicconfig.yaml');
    expect(config.global.pprof.port).toBe(0);
  });

  it('points the UI at the frontend, on loopback', () => {
    expect(
      JSON.parse(renderUiConfig({ temporalAddress: '127.0.0.1:17233', port: 18233, namespace: 'default' })),
    ).toMatchObject({
      temporalGrpcAddress: '127.0.0.1:17233',
      host: '127.0.0.1',
      port: 18233,
      enableUi: true,
    });
  });
});
