// The outbound room: calls Warbler makes to URLs an app gave it (agent tools;
// later knowledge-base web imports), under the operator's address policy.
export { refusedAddress } from './address.ts';
export { Outbound, OutboundRefused, type OutboundAnswer, type OutboundOptions, type OutboundRequest, type Resolve } from './outbound.ts';
export { explainRefusal, OutboundPolicy, parseHostPattern, type OutboundRules } from './policy.ts';
