/** The express lane: Redis Streams task lanes with priority, retries, dead letters and orphan recovery. */
export * from './errors';
export { RedisOutOfMemoryError, isOutOfMemoryError } from './redis-full';
export { LANES, LaneKeys, DEFAULT_GROUP, type Lane } from './keys';
export * from './task-types';
export * from './builtin-task-types';
export * from './express-client';
export * from './express-worker';
export { openLaneConnection, openRedis, isCluster, type RedisClient } from './redis-connections';
export { decideConcurrency, type AutoscaleInput, type AutoscaleDecision, type LaneLoad } from './autoscaler';
export { HandlerPools, type HandlerPoolOptions } from './handler-pool';
