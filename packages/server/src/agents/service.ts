import { badRequest, notFound, WarblerError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Store } from '../store/index.ts';
import type { Users } from '../tenancy/index.ts';
import { AgentConfig, type Agent, type AgentConfigInput } from './definition.ts';
import type { AgentRuntime } from './runtime.ts';

/**
 * Agents as an operator manages them. An agent is a user of kind 'agent'
 * (so it can be a member of any conversation) plus its definition; both are
 * written here, and the runtime is told at once.
 */
export class Agents {
  constructor(
    private readonly store: Store,
    private readonly users: Users,
    private readonly runtime: AgentRuntime,
    /** Model names the router knows, to refuse a typo at save time rather than at the first reply. */
    private readonly knownModels: () => string[],
  ) {}

  /** Registers every stored agent with the runtime (at start). */
  async load(): Promise<number> {
    const rows = await this.store.listAllAgents();
    for (const row of rows) {
      const parsed = AgentConfig.safeParse(row.config);
      if (parsed.success) this.runtime.register({ id: row.id, app_id: row.app_id, config: parsed.data, created_at: row.created_at, updated_at: row.updated_at });
    }
    return rows.length;
  }

  async create(appId: string, input: AgentConfigInput & { id?: string }, metadata: Record<string, unknown> = {}): Promise<Agent> {
    const { id: wantedId, ...rest } = input;
    const config = this.validate(rest);
    const user = await this.users.create(appId, { id: wantedId ?? newId('usr'), name: config.name, kind: 'agent', avatar_url: config.avatar_url ?? null, metadata });
    const now = Date.now();
    const agent: Agent = { id: user.id, app_id: appId, config, created_at: now, updated_at: now };
    await this.store.putAgent({ ...agent, config: config as unknown as Record<string, unknown> });
    this.runtime.register(agent);
    return agent;
  }

  async get(appId: string, agentId: string): Promise<Agent> {
    const row = await this.store.getAgent(appId, agentId);
    if (!row) throw notFound('The agent');
    return { id: row.id, app_id: row.app_id, config: AgentConfig.parse(row.config), created_at: row.created_at, updated_at: row.updated_at };
  }

  async list(appId: string): Promise<Agent[]> {
    const rows = await this.store.listAgents(appId);
    return rows.map((row) => ({ id: row.id, app_id: row.app_id, config: AgentConfig.parse(row.config), created_at: row.created_at, updated_at: row.updated_at }));
  }

  /** Replaces the fields given; the rest stay. */
  async update(appId: string, agentId: string, patch: Record<string, unknown>): Promise<Agent> {
    const current = await this.get(appId, agentId);
    const config = this.validate({ ...current.config, ...patch });
    const agent: Agent = { ...current, config, updated_at: Date.now() };
    await this.store.putAgent({ ...agent, config: config as unknown as Record<string, unknown> });
    if (config.name !== current.config.name || config.avatar_url !== current.config.avatar_url) {
      await this.users.update(appId, agentId, { name: config.name, avatar_url: config.avatar_url ?? null });
    }
    this.runtime.register(agent);
    return agent;
  }

  /** Removes the definition; the agent's user and its past messages stay, it just stops answering. */
  async remove(appId: string, agentId: string): Promise<void> {
    if (!(await this.store.deleteAgent(appId, agentId))) throw notFound('The agent');
    this.runtime.unregister(appId, agentId);
  }

  private validate(input: unknown): AgentConfig {
    const parsed = AgentConfig.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw badRequest(`Invalid agent: ${issue.path.join('.') || 'agent'}: ${issue.message}.`, parsed.error.issues);
    }
    const models = this.knownModels();
    if (!models.includes(parsed.data.model)) {
      throw new WarblerError('bad_request', `Model "${parsed.data.model}" is not configured. Configured models: ${models.join(', ')}. Set a provider key (e.g. OPENAI_API_KEY) or add the model in warbler.yaml.`);
    }
    return parsed.data;
  }
}
