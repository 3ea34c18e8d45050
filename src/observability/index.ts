/** Metrics, health endpoints and their wiring into the saga and express workers. */
export * from './metrics';
export * from './http-server';
export * from './readiness';
export * from './saga-metrics-sinks';
export * from './express-instrumentation';
export * from './temporal-runtime-metrics';
