import type { SupportConversation } from '@warbler/protocol';
import { WarblerClient, type Message } from '@warbler/sdk';
import { configFrom, safeColor, type Identity, type WidgetConfig } from './config.ts';
import { words } from './i18n.ts';
import { Sessions, WidgetApiError, type Session, type SupportStatus } from './session.ts';
import { WidgetView } from './view.ts';

declare const __WIDGET_VERSION__: string;

/** What the page can call: `WarblerWidget.configure({...})`, `.open()`, `.identify({...})`. */
interface WidgetApi {
  version: string;
  configure(patch: Partial<Omit<WidgetConfig, 'app' | 'server'>>): void;
  open(): void;
  identify(identity: Identity | undefined): void;
}

const HISTORY = 50;

/** One widget on the page: a visitor's session, their conversation, and the view of it. */
class Widget {
  private readonly sessions: Sessions;
  private view: WidgetView;
  private client: WarblerClient | undefined;
  private session: Session | undefined;
  private status: SupportStatus | null = null;
  private started: Promise<void> | undefined;
  /** What the visitor should keep seeing (a person was called), under passing states. */
  private notice = '';

  constructor(private readonly config: WidgetConfig) {
    this.sessions = new Sessions(config);
    this.view = this.build();
  }

  private build(): WidgetView {
    const w = words(this.config.locale);
    return new WidgetView(this.config, w, {
      send: (text) => void this.run(async (client, s) => { await client.send(s.conversation_id, text); }),
      attach: (file) => void this.run(async (client, s) => {
        const stored = await client.uploadFile(s.conversation_id, file, file.name, file.type);
        await client.send(s.conversation_id, { type: 'image', content: { file_id: stored.id, name: file.name } });
      }),
      askForPerson: () => void this.run((client, s) => this.askForPerson(client, s)),
      rate: (rating) => void this.run(async (_client, s) => {
        await this.sessions.call('POST', `/api/support/conversations/${encodeURIComponent(s.conversation_id)}/csat`, { rating }, s.token);
        this.view.rated();
      }),
      opened: () => void this.start(),
    }, async (fileId) => (await this.connected()).fileLink(fileId).then((link) => link.url));
  }

  mount(): void {
    document.body.append(this.view.host);
    // A visitor who has talked before sees their conversation straight away; a new one connects on first open.
    if (this.config.open || localStorage.getItem(`warbler.widget.${this.config.app}.session`)) void this.start();
  }

  /** Rebuilds the view (new colours, words…) keeping the conversation. */
  restyle(patch: Partial<WidgetConfig>): void {
    Object.assign(this.config, patch);
    const old = this.view;
    this.view = this.build();
    old.host.replaceWith(this.view.host);
    if (this.session) this.view.who(this.session.user_id, this.session.agent.id);
    this.view.setStatus(this.status);
    if (this.client && this.session) void this.loadHistory(this.client, this.session);
  }

  open(): void {
    this.view.open();
  }

  identify(identity: Identity | undefined): void {
    this.sessions.identify(identity);
    this.client?.close();
    this.client = undefined;
    this.started = undefined;
    this.restyle({});
  }

  private start(): Promise<void> {
    this.started ??= this.connect().catch((err: unknown) => {
      this.started = undefined;
      this.fail(err);
    });
    return this.started;
  }

  private async connected(): Promise<WarblerClient> {
    await this.start();
    if (!this.client) throw new Error('not connected');
    return this.client;
  }

  private async connect(): Promise<void> {
    const session = await this.sessions.get();
    this.adopt(session);
    const client = new WarblerClient({
      url: this.config.server,
      // The SDK asks again when the server refuses the token: a new session (same visitor) gives a fresh one.
      token: async () => {
        const renewed = await this.sessions.get(this.session?.token !== undefined && this.session.expires_at - Date.now() < 60_000);
        this.adopt(renewed);
        return renewed.token;
      },
      backfill: HISTORY,
    });
    this.client = client;
    const w = words(this.config.locale);
    client.on('message', (m) => this.onMessage(m));
    client.on('message.updated', (m) => this.onMessage(m));
    client.on('message.delta', (d) => this.view.delta(d.message_id, d.offset, d.text));
    // Passing states (thinking, reconnecting) show over the standing notice, which comes back after them.
    const passingHint = (text: string) => this.view.setHint(text || this.notice);
    client.on('agent.state', (s) => passingHint(s.state === 'thinking' || s.state === 'generating' ? w.thinking : s.state === 'searching' ? w.searching : ''));
    client.on('status', (s) => passingHint(s.status === 'reconnecting' ? w.offline : ''));
    await client.connect();
    await this.loadHistory(client, session);
  }

  private adopt(session: Session): void {
    this.session = session;
    this.view.who(session.user_id, session.agent.id);
    this.setStatus(session.support_status);
  }

  private async loadHistory(client: WarblerClient, session: Session): Promise<void> {
    const page = await client.history(session.conversation_id, { limit: HISTORY });
    for (const m of page.messages) this.view.upsert(m);
  }

  private onMessage(message: Message): void {
    if (message.conversation_id !== this.session?.conversation_id) return;
    this.view.upsert(message);
    // A person answering is the surest sign one holds the conversation.
    if (message.type !== 'system' && message.sender_id !== this.session.user_id && message.sender_id !== this.session.agent.id) this.setStatus('human');
    const support = (message.content as { support?: { status?: SupportStatus } }).support;
    // The support room's own notice says it better than ours: ours steps aside.
    if (message.type === 'system' && support?.status) {
      this.setStatus(support.status);
      this.notice = '';
      this.view.setHint('');
    }
  }

  private async askForPerson(client: WarblerClient, s: Session): Promise<void> {
    const w = words(this.config.locale);
    try {
      const answer = await this.sessions.call<SupportConversation>('POST', `/api/support/conversations/${encodeURIComponent(s.conversation_id)}/handoff`, {}, s.token);
      this.setStatus(answer.status);
    } catch (err) {
      // A server without the support room: the request goes to the conversation in the visitor's words.
      if (!(err instanceof WidgetApiError && err.status === 404)) throw err;
      await client.send(s.conversation_id, w.human);
      this.setStatus('pending_human');
    }
    this.notice = w.handoffAsked;
    this.view.setHint(this.notice);
  }

  private setStatus(status: SupportStatus | null): void {
    if (status !== 'pending_human') this.notice = '';
    this.status = status;
    this.view.setStatus(status);
  }

  private async run(action: (client: WarblerClient, session: Session) => Promise<void>): Promise<void> {
    try {
      const client = await this.connected();
      await action(client, this.session!);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    const message = err instanceof Error && err.message ? err.message : words(this.config.locale).error;
    this.view.setHint(message.slice(0, 300));
    console.warn('[warbler widget]', err);
  }
}

function boot(): void {
  const script = document.currentScript as HTMLScriptElement | null;
  const config = configFrom(script, document, navigator);
  const widget = new Widget(config);
  const api: WidgetApi = {
    version: __WIDGET_VERSION__,
    configure: (patch) => widget.restyle({
      ...patch,
      ...(patch.color ? { color: safeColor(patch.color, config.color) } : {}),
      ...(patch.textColor ? { textColor: safeColor(patch.textColor, config.textColor) } : {}),
    }),
    open: () => widget.open(),
    identify: (identity) => widget.identify(identity),
  };
  (window as unknown as { WarblerWidget: WidgetApi }).WarblerWidget = api;
  if (document.body) widget.mount();
  else document.addEventListener('DOMContentLoaded', () => widget.mount(), { once: true });
}

boot();
