export { LocalBroker, type Broker } from './broker.ts';
export { Hub, type Connection } from './hub.ts';
export { RealtimeGateway, type RealtimeOptions } from './gateway.ts';
export type { StopStreaming } from './session.ts';
export { AddressLimiter } from './address-limiter.ts';
