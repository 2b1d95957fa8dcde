// The Redis link shared by the cluster adapters (realtime's RedisBroker,
// gateway's RedisRateLimits, batch leases). Selected by WARBLER_REDIS_URL.
export { RedisLink, REDIS_COMMAND_TIMEOUT_MS, REDIS_RECONNECT_CAP_MS } from './connection.ts';
