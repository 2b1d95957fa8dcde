export { LocalBroker, type Broker, type ClusterSignal } from './broker.ts';
export { RedisBroker, type RedisBrokerOptions } from './redis-broker.ts';
export { Hub, type Connection } from './hub.ts';
export { RealtimeGateway, type RealtimeOptions } from './gateway.ts';
export type { StopStreaming } from './session.ts';
export { AddressLimiter } from './address-limiter.ts';
