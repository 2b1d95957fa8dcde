export { startUpstreamFixture } from './server.ts';
export type { FixtureOptions, RecordedRequest, UpstreamFixture } from './server.ts';
export type { Endpoint, FaultStep, ReplyShape, ReplyStep, ScriptedToolCall, Step, StepMatch } from './script.ts';
export type { FinishReason, UsageNumbers, WireUsage, WireToolCall } from './wire.ts';
export { embedText } from './embeddings.ts';
