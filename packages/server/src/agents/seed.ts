import { isDeveloperRecord, type KnowledgeBases } from '../kb/index.ts';
import type { FileAgent } from '../settings/index.ts';
import { AgentConfig } from './definition.ts';
import type { Agents } from './service.ts';

export const DEMO_AGENT_ID = 'warbler-assistant';
export const DEMO_KB_ID = 'warbler-docs';
/** Models the demo agent switches between by itself: the operator picking another one turns that off. */
const AUTO_MODELS = new Set(['local/kb-answer', 'gpt-4o-mini']);

const DEMO_PROMPT = [
  'You are Warbler Assistant, the guide to Warbler, a self-hosted chat server with AI agents.',
  'Answer questions about installing, configuring and using Warbler from its documentation, briefly,',
  'in the language of the question, and cite the passages you use with their [n] numbers.',
].join(' ');

/**
 * The agent every fresh install can talk to: its knowledge base is Warbler's
 * own docs folder (re-imported at each start, so it follows the docs), and
 * its model is gpt-4o-mini when the router has it, else the offline
 * local/kb-answer, which quotes the docs instead of writing.
 */
export async function seedDemoAgent(agents: Agents, knowledge: KnowledgeBases, appId: string, docsDir: string | undefined, models: string[]): Promise<void> {
  await knowledge.ensure(appId, { id: DEMO_KB_ID, name: 'Warbler docs', description: "Warbler's own documentation" });
  if (docsDir) await knowledge.importFolder(appId, DEMO_KB_ID, docsDir, { prune: true, exclude: isDeveloperRecord });
  const model = models.includes('gpt-4o-mini') ? 'gpt-4o-mini' : 'local/kb-answer';
  const existing = await agents.get(appId, DEMO_AGENT_ID).catch(() => undefined);
  if (!existing) {
    await agents.create(appId, { id: DEMO_AGENT_ID, name: 'Warbler Assistant', model, system_prompt: DEMO_PROMPT, knowledge_base_ids: [DEMO_KB_ID], temperature: 0.2 }, { demo: true });
  } else if (AUTO_MODELS.has(existing.config.model) && existing.config.model !== model) {
    await agents.update(appId, DEMO_AGENT_ID, { model });
  }
}

/** Creates or updates the agents declared in warbler.yaml (matched by id, else by name in their app). */
export async function applyFileAgents(agents: Agents, knowledge: KnowledgeBases, declared: FileAgent[], defaultAppId: string): Promise<void> {
  for (const fileAgent of declared) {
    const appId = fileAgent.app_id ?? defaultAppId;
    const kbs = await knowledge.list(appId);
    const kbIds = fileAgent.knowledge_bases.map((ref) => {
      const found = kbs.find((kb) => kb.id === ref || kb.name === ref);
      if (!found) throw new Error(`warbler.yaml: agent "${fileAgent.name}" names knowledge base "${ref}", which app ${appId} does not have. Create it first (POST /api/knowledge-bases).`);
      return found.id;
    });
    const config = AgentConfig.parse({
      name: fileAgent.name,
      ...(fileAgent.model !== undefined && { model: fileAgent.model }),
      ...(fileAgent.system_prompt !== undefined && { system_prompt: fileAgent.system_prompt }),
      ...(fileAgent.temperature !== undefined && { temperature: fileAgent.temperature }),
      ...(fileAgent.max_tokens !== undefined && { max_tokens: fileAgent.max_tokens }),
      ...(fileAgent.trigger && { trigger: fileAgent.trigger }),
      ...(fileAgent.monthly_budget_usd !== undefined && { monthly_budget_usd: fileAgent.monthly_budget_usd }),
      ...(fileAgent.guardrails !== undefined && { guardrails: fileAgent.guardrails }),
      knowledge_base_ids: kbIds,
      tools: fileAgent.tools,
    });
    const match = fileAgent.id
      ? await agents.get(appId, fileAgent.id).catch(() => undefined)
      : (await agents.list(appId)).find((a) => a.config.name === fileAgent.name);
    if (match) await agents.update(appId, match.id, { ...config });
    else await agents.create(appId, { ...config, ...(fileAgent.id && { id: fileAgent.id }) });
  }
}
