// The definition's schema lives in the protocol: the REST API, the web console and the SDK take it from there.
export { AgentConfig, AgentTool, DEFAULT_HISTORY_TOKENS, type AgentConfigInput } from '@warbler/protocol';
import type { AgentConfig } from '@warbler/protocol';

/** An agent as the server holds it (tool headers sealed; see tool-secrets.ts). */
export interface Agent {
  id: string;
  app_id: string;
  config: AgentConfig;
  created_at: number;
  updated_at: number;
}
