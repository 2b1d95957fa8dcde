export { AgentConfig, AgentTool, type Agent, type AgentConfigInput } from './definition.ts';
export { modelFacts, type ModelFacts } from './models.ts';
export { AgentRuntime, citationsIn, explain, type AgentCallContext, type KnowledgeSearch, type RuntimeDeps, type SpendGuard, type SupportReplies } from './runtime.ts';
export { Agents, type AgentsDeps } from './service.ts';
export { HttpTools, type ToolRefusalLog } from './tools.ts';
export { maskToolHeaders } from './tool-secrets.ts';
export { mentions, shouldReply, MAX_AGENT_CHAIN } from './triggers.ts';
export { applyFileAgents, DEMO_AGENT_ID, DEMO_KB_ID, seedDemoAgent } from './seed.ts';
