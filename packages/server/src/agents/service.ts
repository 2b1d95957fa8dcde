import { badRequest, notFound, WarblerError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { SecretBox } from '../llm/index.ts';
import { explainRefusal, type OutboundPolicy } from '../outbound/index.ts';
import type { AgentRow, Store } from '../store/index.ts';
import type { Users } from '../tenancy/index.ts';
import { AgentConfig, type Agent, type AgentConfigInput } from './definition.ts';
import type { AgentRuntime } from './runtime.ts';
import { keepStoredSecrets, ToolSecrets } from './tool-secrets.ts';

export interface AgentsDeps {
  store: Pick<Store, 'putAgent' | 'getAgent' | 'listAgents' | 'listAllAgents' | 'deleteAgent'>;
  users: Users;
  runtime: AgentRuntime;
  /** Model names the router knows, to refuse a typo at save time rather than at the first reply. */
  knownModels: () => string[];
  /** Ids of the app's knowledge bases, so an agent cannot name another app's (or none). */
  knowledgeBaseIds: (appId: string) => Promise<string[]>;
  /** Seals tool header values at rest. */
  secrets: SecretBox;
  /** Tool URLs are checked against it when saved (and again at every call, by the tools). */
  outbound: OutboundPolicy;
  warn?: (message: string) => void;
  /** An agent was created, changed or removed here: other nodes reload it (reload()) so their runtimes answer the same. */
  onChange?: (appId: string, agentId: string) => void;
}

/**
 * Agents as an operator manages them. An agent is a user of kind 'agent'
 * (so it can be a member of any conversation) plus its definition; both are
 * written here, and the runtime is told at once. The runtime and callers of
 * get/list see tool header values opened; the store holds them sealed.
 */
export class Agents {
  private readonly secrets: ToolSecrets;

  constructor(private readonly deps: AgentsDeps) {
    this.secrets = new ToolSecrets(deps.secrets, deps.warn);
  }

  /** Registers every stored agent with the runtime (at start), sealing header values stored before they were sealed. */
  async load(): Promise<number> {
    const rows = await this.deps.store.listAllAgents();
    for (const row of rows) {
      const parsed = AgentConfig.safeParse(row.config);
      if (!parsed.success) continue;
      const opened = this.secrets.open(row.app_id, row.id, parsed.data.tools);
      const agent: Agent = { id: row.id, app_id: row.app_id, config: { ...parsed.data, tools: opened.tools }, created_at: row.created_at, updated_at: row.updated_at };
      if (opened.legacy) await this.put(agent);
      this.deps.runtime.register(agent);
    }
    return rows.length;
  }

  async create(appId: string, input: AgentConfigInput & { id?: string }, metadata: Record<string, unknown> = {}): Promise<Agent> {
    const { id: wantedId, ...rest } = input;
    const config = await this.validate(appId, rest, { knowledge: true, tools: true });
    const user = await this.deps.users.create(appId, { id: wantedId ?? newId('usr'), name: config.name, kind: 'agent', avatar_url: config.avatar_url ?? null, metadata });
    const now = Date.now();
    const agent: Agent = { id: user.id, app_id: appId, config, created_at: now, updated_at: now };
    await this.put(agent);
    this.deps.runtime.register(agent);
    this.deps.onChange?.(appId, agent.id);
    return agent;
  }

  /** Registers the agent as stored now, or unregisters it when it is gone (another node changed it). */
  async reload(appId: string, agentId: string): Promise<void> {
    const row = await this.deps.store.getAgent(appId, agentId);
    const parsed = row && AgentConfig.safeParse(row.config);
    if (!row || !parsed?.success) return this.deps.runtime.unregister(appId, agentId);
    this.deps.runtime.register(this.fromRow(row));
  }

  async get(appId: string, agentId: string): Promise<Agent> {
    const row = await this.deps.store.getAgent(appId, agentId);
    if (!row) throw notFound('The agent');
    return this.fromRow(row);
  }

  async list(appId: string): Promise<Agent[]> {
    const rows = await this.deps.store.listAgents(appId);
    return rows.map((row) => this.fromRow(row));
  }

  /** Replaces the fields given; the rest stay. What is sent is checked (new knowledge bases, tool URLs); masked header values keep the stored secret. */
  async update(appId: string, agentId: string, patch: Record<string, unknown>): Promise<Agent> {
    const current = await this.get(appId, agentId);
    const config = await this.validate(appId, { ...current.config, ...patch }, { knowledge: 'knowledge_base_ids' in patch, tools: 'tools' in patch }, current);
    const agent: Agent = { ...current, config, updated_at: Date.now() };
    await this.put(agent);
    if (config.name !== current.config.name || config.avatar_url !== current.config.avatar_url) {
      await this.deps.users.update(appId, agentId, { name: config.name, avatar_url: config.avatar_url ?? null });
    }
    this.deps.runtime.register(agent);
    this.deps.onChange?.(appId, agentId);
    return agent;
  }

  /** Removes the definition; the agent's user and its past messages stay, it just stops answering. */
  async remove(appId: string, agentId: string): Promise<void> {
    if (!(await this.deps.store.deleteAgent(appId, agentId))) throw notFound('The agent');
    this.deps.runtime.unregister(appId, agentId);
    this.deps.onChange?.(appId, agentId);
  }

  private fromRow(row: AgentRow): Agent {
    const config = AgentConfig.parse(row.config);
    const { tools } = this.secrets.open(row.app_id, row.id, config.tools);
    return { id: row.id, app_id: row.app_id, config: { ...config, tools }, created_at: row.created_at, updated_at: row.updated_at };
  }

  private put(agent: Agent): Promise<void> {
    const config = { ...agent.config, tools: this.secrets.seal(agent.app_id, agent.id, agent.config.tools) };
    return this.deps.store.putAgent({ ...agent, config: config as unknown as Record<string, unknown> });
  }

  private async validate(appId: string, input: unknown, check: { knowledge: boolean; tools: boolean }, current?: Agent): Promise<AgentConfig> {
    const parsed = AgentConfig.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw badRequest(`Invalid agent: ${issue.path.join('.') || 'agent'}: ${issue.message}.`, parsed.error.issues);
    }
    const config = { ...parsed.data, tools: keepStoredSecrets(parsed.data.tools, current?.config.tools ?? []) };
    const models = this.deps.knownModels();
    if (!models.includes(config.model)) {
      throw new WarblerError('bad_request', `Model "${config.model}" is not configured. Configured models: ${models.join(', ')}. Set a provider key (e.g. OPENAI_API_KEY) or add the model in warbler.yaml.`);
    }
    // Ids the agent already had were checked when saved; a knowledge base deleted since must not block unrelated edits.
    const added = config.knowledge_base_ids.filter((id) => !current?.config.knowledge_base_ids.includes(id));
    if (check.knowledge) await this.checkKnowledgeBases(appId, added);
    if (check.tools) this.checkToolUrls(config);
    return config;
  }

  private async checkKnowledgeBases(appId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const known = new Set(await this.deps.knowledgeBaseIds(appId));
    const missing = ids.find((id) => !known.has(id));
    if (missing !== undefined) {
      throw badRequest(`Invalid agent: knowledge_base_ids: there is no knowledge base "${missing}" in this app. Create it first (POST /api/knowledge-bases), or leave it out.`);
    }
  }

  private checkToolUrls(config: AgentConfig): void {
    config.tools.forEach((tool, i) => {
      const reason = this.deps.outbound.refusalBeforeSaving(new URL(tool.url));
      if (reason) throw badRequest(`Invalid agent: tools[${i}].url: ${tool.url} is not allowed: ${explainRefusal(reason)}.`);
    });
  }
}
