import { Agent, AgentList, ModelCatalog, User, UserToken } from '@warbler/protocol';
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, errorText } from '../api.ts';
import { ConversationView } from '../chat/ConversationView.tsx';
import { ChatStore } from '../chat/store.ts';
import { useI18n } from '../ui/i18n.tsx';
import { useStore } from '../ui/useStore.ts';
import { DEFAULT_HISTORY_TOKENS, formatMoney, replyCost, type ModelPrice } from './agent-budget.ts';
import { chatModelNames } from './agent-models.ts';
import type { ConsoleApi } from './client.ts';
import { ConfirmButton } from './Confirm.tsx';
import { useLoad } from './useLoad.ts';

interface Draft {
  name: string;
  model: string;
  system_prompt: string;
  temperature: string;
  max_tokens: string;
  history: string;
  top_k: string;
  knowledge_base_ids: string[];
  tools: string;
  trigger: 'mention' | 'all';
  budget: string;
  query_rewrite: boolean;
}

const blank: Draft = { name: '', model: 'local/kb-answer', system_prompt: 'You are a helpful assistant.', temperature: '', max_tokens: '1024', history: String(DEFAULT_HISTORY_TOKENS), top_k: '4', knowledge_base_ids: [], tools: '[]', trigger: 'mention', budget: '', query_rewrite: true };

function draftOf(a: Agent): Draft {
  return {
    name: a.name, model: a.model, system_prompt: a.system_prompt, temperature: a.temperature?.toString() ?? '', max_tokens: String(a.max_tokens),
    history: String(a.history_tokens), top_k: String(a.top_k), knowledge_base_ids: a.knowledge_base_ids, tools: JSON.stringify(a.tools, null, 2), trigger: a.trigger.group,
    budget: a.monthly_budget_usd?.toString() ?? '', query_rewrite: a.query_rewrite,
  };
}

/** Agents: list, create and edit every field of the definition, and try one in a side panel. */
export function AgentsPage({ client }: { client: ConsoleApi }) {
  const { t } = useI18n();
  const agents = useLoad(() => client.call('GET', '/api/agents', undefined, AgentList), [client]);
  const models = useLoad(() => client.call('GET', '/api/models', undefined, ModelCatalog), [client]);
  const kbs = useLoad(() => client.call<{ knowledge_bases: Array<{ id: string; name: string }> }>('GET', '/api/knowledge-bases'), [client]);
  const [editing, setEditing] = useState<string | 'new'>();
  const [trying, setTrying] = useState<Agent>();
  // What the server answered to the last save: the list reloads after it, and until it
  // has, the form must show the agent as saved, never blank defaults a Save would write back.
  const [lastSaved, setLastSaved] = useState<Agent>();
  const listed = editing && editing !== 'new' ? agents.data?.agents.find((a) => a.id === editing) : undefined;
  const current = listed ?? (lastSaved && lastSaved.id === editing ? lastSaved : undefined);

  return (
    <section className={trying ? 'with-panel' : ''}>
      <h1>{t('agents.title')}</h1>
      {agents.error && <p className="error" role="alert">{t('console.error', { message: agents.error })}</p>}
      <div className="split">
        <div className="split-side">
          <ul className="pick-list" aria-label={t('agents.title')}>
            {agents.data?.agents.map((a) => (
              <li key={a.id} data-agent={a.id}>
                <button type="button" aria-current={a.id === editing ? 'true' : undefined} onClick={() => setEditing(a.id)}>
                  <strong>{a.name}</strong>
                  <span className="hint">{a.model}</span>
                </button>
              </li>
            ))}
          </ul>
          <button type="button" className="primary" onClick={() => setEditing('new')}>{t('agents.new')}</button>
        </div>
        <div className="split-main">
          {editing && (
            <AgentForm
              // A form opened before its agent arrived starts again once it has.
              key={`${editing}:${current ? 'loaded' : 'empty'}`}
              client={client}
              agent={current}
              models={chatModelNames(models.data?.models ?? [])}
              prices={new Map(models.data?.models.map((m) => [m.name, m.price]) ?? [])}
              kbs={kbs.data?.knowledge_bases ?? []}
              onSaved={(a) => { setLastSaved(a); agents.reload(); setEditing(a.id); }}
              onDeleted={() => { setEditing(undefined); setTrying(undefined); setLastSaved(undefined); agents.reload(); }}
              onTry={current ? () => setTrying(current) : undefined}
              justSaved={current !== undefined && current === lastSaved}
            />
          )}
        </div>
      </div>
      {trying && <TryPanel key={trying.id} client={client} agent={trying} onClose={() => setTrying(undefined)} />}
    </section>
  );
}

function AgentForm({ client, agent, models, prices, kbs, onSaved, onDeleted, onTry, justSaved = false }: {
  client: ConsoleApi;
  agent: Agent | undefined;
  models: string[];
  prices: ReadonlyMap<string, ModelPrice | null>;
  kbs: Array<{ id: string; name: string }>;
  onSaved: (a: Agent) => void;
  onDeleted: () => void;
  onTry: (() => void) | undefined;
  /** Opened right after a Create: say it was saved. */
  justSaved?: boolean;
}) {
  const { t } = useI18n();
  const [d, setD] = useState<Draft>(() => (agent ? draftOf(agent) : blank));
  const [problem, setProblem] = useState<string>();
  const [saved, setSaved] = useState(justSaved);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setSaved(false);
    setD({ ...d, [key]: value });
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    let tools: unknown;
    try {
      tools = JSON.parse(d.tools || '[]');
      if (!Array.isArray(tools)) throw new Error();
    } catch {
      return setProblem(t('agents.toolsInvalid'));
    }
    const body = {
      name: d.name.trim(), model: d.model, system_prompt: d.system_prompt,
      ...(d.temperature.trim() !== '' && { temperature: Number(d.temperature) }),
      max_tokens: Number(d.max_tokens), history_tokens: Number(d.history), top_k: Number(d.top_k), knowledge_base_ids: d.knowledge_base_ids, query_rewrite: d.query_rewrite, tools,
      trigger: { group: d.trigger }, monthly_budget_usd: d.budget.trim() === '' ? null : Number(d.budget),
    };
    try {
      const result = agent
        ? await client.call('PATCH', `/api/agents/${encodeURIComponent(agent.id)}`, body, Agent)
        : await client.call('POST', '/api/agents', body, Agent);
      setSaved(true);
      onSaved(result);
    } catch (err) {
      setProblem(errorText(err));
    }
  };

  const modelChoices = models.includes(d.model) || !d.model ? models : [d.model, ...models];
  const cost = replyCost({ historyTokens: Number(d.history), systemPrompt: d.system_prompt, maxTokens: Number(d.max_tokens) }, prices.get(d.model));
  return (
    <form className="card form-grid" onSubmit={submit} aria-label={agent ? t('agents.edit', { name: agent.name }) : t('agents.new')}>
      <div className="form-head">
        <h2>{agent ? t('agents.edit', { name: agent.name }) : t('agents.new')}</h2>
        {onTry && <button type="button" onClick={onTry}>{t('agents.try')}</button>}
        {agent && (
          <ConfirmButton label={t('console.delete')} question={t('agents.deleteQuestion', { name: agent.name })} onConfirm={async () => {
            try {
              await client.call('DELETE', `/api/agents/${encodeURIComponent(agent.id)}`);
              onDeleted();
            } catch (err) {
              setProblem(errorText(err));
            }
          }} />
        )}
      </div>
      <label className="field"><span>{t('console.name')}</span><input value={d.name} onChange={(e) => set('name', e.target.value)} required maxLength={100} /></label>
      <label className="field">
        <span>{t('agents.model')}</span>
        <select value={d.model} onChange={(e) => set('model', e.target.value)}>
          {modelChoices.map((m) => <option key={m} value={m}>{m}</option>)}
        </select>
      </label>
      <label className="field wide"><span>{t('agents.prompt')}</span><textarea rows={5} value={d.system_prompt} onChange={(e) => set('system_prompt', e.target.value)} maxLength={20000} /></label>
      <label className="field"><span>{t('agents.temperature')}</span><input type="number" min={0} max={2} step={0.1} value={d.temperature} onChange={(e) => set('temperature', e.target.value)} /></label>
      <label className="field"><span>{t('agents.maxTokens')}</span><input type="number" min={1} max={32000} value={d.max_tokens} onChange={(e) => set('max_tokens', e.target.value)} /></label>
      <label className="field">
        <span>{t('agents.history')}</span>
        <input type="number" min={256} max={1000000} value={d.history} onChange={(e) => set('history', e.target.value)} aria-describedby="agent-history-cost" />
        <span className="hint" id="agent-history-cost" data-testid="history-cost">
          {cost
            ? t('agents.historyCost', { cost: formatMoney(cost.atMost, cost.currency), cached: formatMoney(cost.cached, cost.currency), model: d.model, tokens: cost.promptTokens.toLocaleString() })
            : t('agents.historyNoPrice', { model: d.model })}
        </span>
      </label>
      <label className="field"><span>{t('agents.topK')}</span><input type="number" min={1} max={20} value={d.top_k} onChange={(e) => set('top_k', e.target.value)} /></label>
      <label className="field">
        <span>{t('agents.trigger')}</span>
        <select value={d.trigger} onChange={(e) => set('trigger', e.target.value as Draft['trigger'])}>
          <option value="mention">{t('agents.trigger.mention')}</option>
          <option value="all">{t('agents.trigger.all')}</option>
        </select>
      </label>
      <label className="field"><span>{t('agents.budget')}</span><input type="number" min={0} step="any" value={d.budget} onChange={(e) => set('budget', e.target.value)} /></label>
      <fieldset className="field wide">
        <legend>{t('agents.kbs')}</legend>
        {kbs.map((kb) => (
          <label key={kb.id} className="check">
            <input
              type="checkbox"
              checked={d.knowledge_base_ids.includes(kb.id)}
              onChange={(e) => set('knowledge_base_ids', e.target.checked ? [...d.knowledge_base_ids, kb.id] : d.knowledge_base_ids.filter((id) => id !== kb.id))}
            />
            {kb.name} <span className="hint">({kb.id})</span>
          </label>
        ))}
        <label className="check">
          <input type="checkbox" checked={d.query_rewrite} onChange={(e) => set('query_rewrite', e.target.checked)} />
          {t('agents.queryRewrite')} <span className="hint">{t('agents.queryRewriteHint')}</span>
        </label>
      </fieldset>
      <label className="field wide"><span>{t('agents.tools')}</span><textarea rows={4} className="mono" value={d.tools} onChange={(e) => set('tools', e.target.value)} spellCheck={false} /></label>
      {problem && <p className="error wide" role="alert">{problem}</p>}
      {saved && <p className="ok-text wide" role="status">{t('console.saved')}</p>}
      <div className="actions wide"><button type="submit" className="primary">{agent ? t('console.save') : t('console.create')}</button></div>
    </form>
  );
}

const TESTER_ID = 'console-operator';

/**
 * The agent in a side panel, answering as it would in chat: the console
 * signs in as its own test user of the app and opens a direct chat.
 */
function TryPanel({ client, agent, onClose }: { client: ConsoleApi; agent: Agent; onClose: () => void }) {
  const { t } = useI18n();
  const [state, setState] = useState<{ store: ChatStore; conversationId: string } | { error: string }>();

  useEffect(() => {
    let store: ChatStore | undefined;
    let live = true;
    (async () => {
      await client.call('POST', '/api/users', { id: TESTER_ID, name: 'Console operator' }, User).catch((err: unknown) => {
        if (!(err instanceof ApiError && err.code === 'conflict')) throw err;
      });
      const { token } = await client.call('POST', `/api/users/${TESTER_ID}/tokens`, { ttl_seconds: 3600 }, UserToken);
      if (!live) return;
      store = new ChatStore({ userId: TESTER_ID, name: 'Console operator', token }, () => undefined);
      store.start();
      const conversationId = await store.startDirect(agent.id);
      if (live) setState({ store, conversationId });
    })().catch((err: unknown) => live && setState({ error: errorText(err) }));
    return () => {
      live = false;
      store?.stop();
    };
  }, [client, agent.id]);

  return (
    <aside className="try-panel" aria-label={t('agents.tryTitle', { name: agent.name })}
      onKeyDown={(e) => { if (e.key === 'Escape' && !(e.target instanceof HTMLTextAreaElement && e.target.value)) onClose(); }}>
      <header className="try-head">
        <h2>{t('agents.tryTitle', { name: agent.name })}</h2>
        <button type="button" className="icon" aria-label={t('dialog.close')} onClick={onClose}>×</button>
      </header>
      {!state && <p>{t('console.loading')}</p>}
      {state && 'error' in state && <p className="error" role="alert">{state.error}</p>}
      {state && 'store' in state && <TryChat store={state.store} conversationId={state.conversationId} onClose={onClose} />}
    </aside>
  );
}

function TryChat({ store, conversationId, onClose }: { store: ChatStore; conversationId: string; onClose: () => void }) {
  useStore(store);
  useEffect(() => {
    void store.open(conversationId);
  }, [store, conversationId]);
  return <ConversationView store={store} id={conversationId} onBack={onClose} />;
}
