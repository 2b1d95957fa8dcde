import {
  WarblerClient,
  webStorage,
  type AgentStateFrame,
  type Conversation,
  type ConversationSummary,
  type Member,
  type Message,
  type MessageContent,
  type MessageSearchResult,
  type QueuedSend,
  type SendableType,
  type ReactionSummary,
  type StatusChange,
} from '@warbler/sdk';
// Types only: the chat app's entry carries no zod schemas (the console, a chunk of its own, passes shapes).
import type { FeedbackResult, PeopleResult, Person, User } from '@warbler/protocol';
import { api, errorText } from '../api.ts';
import { devSignIn, saveSession, type ChatSession } from '../session.ts';
import { FileLinks } from './file-links.ts';
import { sortConversations } from './conversation-order.ts';
import { applyDelta, mergeMessages } from './logic.ts';
import { notificationReason, Notifier } from './notifications.ts';
import { loadChatCache, saveChatCache } from './offline-cache.ts';

/** Someone a chat shows (name, avatar, human or agent): the protocol's shape from /api/people and /api/users/:id. */
export type { Person };

export interface ConversationView {
  id: string;
  kind: Conversation['kind'];
  title: string | null;
  last_message: Message | null;
  last_activity: number;
  unread: number;
  read_seq: number;
  /** My own pin and mute (absent in a list cached by an older version: not pinned, not muted). */
  pinned?: boolean;
  muted?: boolean;
}

export interface Thread {
  messages: Message[];
  loaded: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
}

export interface AgentActivity {
  agentId: string;
  state: AgentStateFrame['state'];
  messageId?: string;
}

export interface Upload {
  id: string;
  conversationId: string;
  name: string;
}

const PAGE = 40;
const TYPING_SHOWN_MS = 4_000;

/**
 * Everything the chat screens show, kept up to date from the SDK's events.
 * Components subscribe and read; they never hold chat state of their own.
 */
export class ChatStore {
  readonly client: WarblerClient;
  readonly me: string;
  token: string;
  status: StatusChange = { status: 'connecting', reason: 'connect' };
  /** The browser says it has no network: known at once, long before a heartbeat misses. */
  offline = typeof navigator !== 'undefined' && navigator.onLine === false;
  /** Files picked while the network was away, sent when it is back (kept in memory: a reload forgets them). */
  queuedUploads: Array<{ id: string; conversationId: string; file: File }> = [];
  conversations = new Map<string, ConversationView>();
  threads = new Map<string, Thread>();
  members = new Map<string, Member[]>();
  people = new Map<string, Person>();
  typing = new Map<string, Map<string, number>>();
  agents = new Map<string, AgentActivity>();
  pending: QueuedSend[] = [];
  /** Sends the server refused for good (not_member, bad_request…), by client_msg_id, shown with the reason. */
  refused = new Map<string, { conversationId: string; content: MessageContent; error: unknown }>();
  uploads: Upload[] = [];
  openId: string | undefined;
  listLoaded = false;
  lastError: string | undefined;
  /** Reactions per message id from `reaction` frames and our own changes; newer than the copy a history page carried. */
  reactions = new Map<string, ReactionSummary[]>();
  /** The message a search result asked to show, until the view has scrolled to it. */
  focus: { conversationId: string; seq: number; at: number } | undefined;
  /** Browser notifications for mentions and direct messages while the tab is hidden (opt-in, per browser). */
  readonly notifier = new Notifier(typeof localStorage === 'undefined' ? undefined : localStorage);
  /** How a notification reads (the shell sets it, in the user's language). */
  describeForNotification: (message: Message, conversationTitle: string) => { title: string; body: string } = (m) => ({ title: this.nameOf(m.sender_id), body: '' });
  /** Opens a conversation on screen (the shell sets it): a click on a notification uses it. */
  requestOpen: (conversationId: string) => void = () => undefined;
  /** How many streamed pieces each reply got: lets tests (and curious people) see a reply really streamed. */
  deltas = new Map<string, number>();

  private version = 0;
  private readonly listeners = new Set<() => void>();
  private readonly asking = new Map<string, Promise<Person | undefined>>();
  /** Conversations being fetched because a message of theirs arrived first (see discover). */
  private readonly discovering = new Map<string, Promise<void>>();
  private typingTimer: ReturnType<typeof setInterval> | undefined;
  private readonly off: Array<() => void> = [];
  private readonly fileLinks = new FileLinks((fileId) => this.client.fileLink(fileId), () => this.changed());

  constructor(private readonly session: ChatSession, private readonly onSignedOut: () => void) {
    this.me = session.userId;
    this.token = session.token;
    let calls = 0;
    const token = session.devName
      ? async () => {
        // The first call uses the saved token; a later one means the server refused it: sign in again.
        if (calls++ === 0) return this.token;
        const renewed = await devSignIn(session.devName!);
        this.token = renewed.token;
        saveSession(localStorage, renewed);
        return renewed.token;
      }
      : session.token;
    this.client = new WarblerClient({ url: location.origin, token, storage: webStorage(localStorage) });
    this.restoreCache();
  }

  // ---- offline cache ----

  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  /** What this browser showed last time, so a reload without network is not an empty screen; refreshed from the server once connected. */
  private restoreCache(): void {
    const cached = typeof localStorage === 'undefined' ? undefined : loadChatCache(localStorage, this.me);
    if (!cached) return;
    for (const c of cached.conversations) this.conversations.set(c.id, c);
    // Not 'loaded': opening one still fetches its newest page (and the SDK syncs what was missed).
    for (const [id, messages] of cached.threads) this.threads.set(id, { messages, loaded: false, hasOlder: (messages[0]?.seq ?? 1) > 1, loadingOlder: false });
    for (const [id, list] of cached.members) this.members.set(id, list);
    for (const p of cached.people) this.people.set(p.id, p);
    this.listLoaded = cached.conversations.length > 0;
  }

  /** Written a second after the last change, not on every streamed piece of a reply. */
  private scheduleSave(): void {
    if (this.saveTimer || typeof localStorage === 'undefined') return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      saveChatCache(localStorage, this.me, {
        conversations: [...this.conversations.values()],
        threads: [...this.threads.entries()].map(([id, t]) => [id, t.messages]),
        members: [...this.members.entries()],
        people: [...this.people.values()],
      });
    }, 1_000);
  }

  // ---- subscription (useSyncExternalStore) ----

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): number => this.version;

  private changed(): void {
    this.scheduleSave();
    this.version++;
    for (const l of this.listeners) l();
  }

  // ---- lifecycle ----

  start(): void {
    const c = this.client;
    this.off.push(
      c.on('status', (s) => {
        this.status = s;
        this.refreshPending();
        if (s.status === 'open') {
          // Back: errors from the outage are stale, and what waited goes out.
          this.lastError = undefined;
          this.offline = false;
          void this.loadConversations();
          this.flushUploads();
        }
        this.changed();
      }),
      c.on('message', (m) => this.onMessage(m)),
      c.on('message.updated', (m) => this.onUpdated(m)),
      c.on('message.delta', (d) => this.onDelta(d.conversation_id, d.message_id, d.offset, d.text)),
      c.on('receipt', (r) => this.onReceipt(r.conversation_id, r.user_id, r.kind, r.seq)),
      c.on('typing', (t) => this.onTyping(t.conversation_id, t.user_id)),
      c.on('member', (m) => this.onMember(m.conversation_id, m.event, m.user_id, m.member)),
      c.on('conversation', (f) => this.upsertConversation(f.conversation)),
      c.on('agent.state', (a) => this.onAgentState(a)),
      c.on('reaction', (r) => {
        this.reactions.set(r.message_id, r.reactions);
        this.changed();
      }),
      // A pin or mute made in another tab or on another device.
      c.on('member.prefs', (p) => this.applyPrefs(p.conversation_id, { pinned: p.pinned, muted: p.muted })),
      c.on('error', (e) => {
        this.lastError = e.message;
        this.changed();
      }),
    );
    const onVisible = () => {
      if (document.visibilityState === 'visible' && this.openId) this.markRead(this.openId);
    };
    document.addEventListener('visibilitychange', onVisible);
    this.off.push(() => document.removeEventListener('visibilitychange', onVisible));
    const onOffline = () => {
      this.offline = true;
      this.changed();
    };
    const onOnline = () => {
      this.offline = false;
      this.client.reconnectNow();
      this.flushUploads();
      this.changed();
    };
    window.addEventListener('offline', onOffline);
    window.addEventListener('online', onOnline);
    this.off.push(() => window.removeEventListener('offline', onOffline), () => window.removeEventListener('online', onOnline));
    this.client.connect().catch(() => {
      if (this.status.status === 'closed' && this.status.reason === 'unauthorized') this.onSignedOut();
    });
  }

  stop(): void {
    for (const off of this.off.splice(0)) off();
    clearInterval(this.typingTimer);
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.fileLinks.stop();
    this.client.close();
  }

  // ---- conversations ----

  async loadConversations(): Promise<void> {
    try {
      const page = await this.client.conversations.list({ limit: 100 });
      for (const s of page.conversations) this.upsertSummary(s);
      this.listLoaded = true;
      this.changed();
      await Promise.all(page.conversations.filter((s) => s.kind === 'direct').map((s) => this.loadMembers(s.id)));
    } catch (error) {
      this.lastError = errorText(error);
      this.changed();
    }
  }

  sortedConversations(): ConversationView[] {
    return sortConversations(this.conversations.values());
  }

  /** Pins or mutes a conversation for me: shown at once, undone if the server refuses. */
  async setPrefs(conversationId: string, prefs: { pinned?: boolean; muted?: boolean }): Promise<void> {
    const held = this.conversations.get(conversationId);
    if (!held) return;
    this.applyPrefs(conversationId, prefs);
    try {
      const saved = await this.client.conversations.setPrefs(conversationId, prefs);
      this.applyPrefs(conversationId, { pinned: saved.pinned, muted: saved.muted });
    } catch (error) {
      this.applyPrefs(conversationId, { pinned: held.pinned ?? false, muted: held.muted ?? false });
      this.lastError = errorText(error);
      this.changed();
    }
  }

  private applyPrefs(conversationId: string, prefs: { pinned?: boolean; muted?: boolean }): void {
    const c = this.conversations.get(conversationId);
    if (!c) return;
    this.conversations.set(conversationId, { ...c, ...(prefs.pinned !== undefined && { pinned: prefs.pinned }), ...(prefs.muted !== undefined && { muted: prefs.muted }) });
    this.changed();
  }

  /** A notification for a new message that deserves one (a mention or a direct message, tab hidden, not muted, not mine). */
  private maybeNotify(c: ConversationView, m: Message): void {
    if (!this.notifier.enabled) return;
    const hidden = typeof document !== 'undefined' && document.visibilityState !== 'visible';
    if (!notificationReason({ message: m, me: this.me, kind: c.kind, muted: c.muted ?? false, hidden, now: Date.now() })) return;
    const { title, body } = this.describeForNotification(m, this.titleOf(c.id));
    this.notifier.show(title, body, m.id, c.id, () => this.requestOpen(c.id));
  }

  /** A direct chat is named after the other person; a group by its title, else its members. */
  titleOf(id: string): string {
    const c = this.conversations.get(id);
    if (c?.title) return c.title;
    const others = (this.members.get(id) ?? []).filter((m) => m.user_id !== this.me).map((m) => this.nameOf(m.user_id));
    return others.join(', ') || '…';
  }

  /** The newest message as the thread holds it: a reply still streaming has its live text there. */
  lastMessageOf(id: string): Message | null {
    const last = this.conversations.get(id)?.last_message ?? null;
    if (!last) return null;
    return this.threads.get(id)?.messages.findLast((m) => m.id === last.id) ?? last;
  }

  /** The other member of a direct chat. */
  peerOf(id: string): Person | undefined {
    const c = this.conversations.get(id);
    if (c?.kind !== 'direct') return undefined;
    const other = this.members.get(id)?.find((m) => m.user_id !== this.me);
    return other ? this.people.get(other.user_id) : undefined;
  }

  async open(id: string | undefined): Promise<void> {
    this.openId = id;
    this.changed();
    if (!id) return;
    try {
      await Promise.all([this.loadThread(id), this.loadMembers(id)]);
      this.markRead(id);
    } catch (error) {
      // Offline, the cached messages are what there is: the banner already says why nothing newer shows.
      if (this.offline || this.status.status !== 'open') return;
      // A stale link (?c=…) to a conversation that is gone, or one we were removed from.
      this.lastError = errorText(error);
      this.changed();
    }
  }

  async startDirect(userId: string): Promise<string> {
    const conversation = await this.client.conversations.create({ kind: 'direct', member_ids: [userId] });
    this.upsertConversation(conversation);
    await this.loadMembers(conversation.id);
    return conversation.id;
  }

  async createGroup(title: string, userIds: string[]): Promise<string> {
    const conversation = await this.client.conversations.create({ kind: 'group', member_ids: userIds, title: title || null });
    this.upsertConversation(conversation);
    await this.loadMembers(conversation.id);
    return conversation.id;
  }

  async addMembers(conversationId: string, userIds: string[]): Promise<void> {
    await this.client.conversations.addMembers(conversationId, userIds);
    await this.loadMembers(conversationId, true);
  }

  // ---- messages ----

  thread(id: string): Thread {
    return this.threads.get(id) ?? { messages: [], loaded: false, hasOlder: false, loadingOlder: false };
  }

  async loadThread(id: string): Promise<void> {
    if (this.threads.get(id)?.loaded) return;
    const page = await this.client.history(id, { limit: PAGE });
    const held = this.threads.get(id);
    this.threads.set(id, { messages: mergeMessages(held?.messages ?? [], page.messages), loaded: true, hasOlder: page.has_more, loadingOlder: false });
    this.changed();
  }

  async loadOlder(id: string): Promise<void> {
    const t = this.threads.get(id);
    if (!t || !t.hasOlder || t.loadingOlder) return;
    const first = t.messages[0]?.seq;
    if (first === undefined || first <= 1) {
      this.threads.set(id, { ...t, hasOlder: false });
      return this.changed();
    }
    this.threads.set(id, { ...t, loadingOlder: true });
    this.changed();
    try {
      const page = await this.client.history(id, { before: first, limit: PAGE });
      const now = this.thread(id);
      this.threads.set(id, { ...now, messages: mergeMessages(now.messages, page.messages), hasOlder: page.has_more, loadingOlder: false });
    } catch (error) {
      this.threads.set(id, { ...this.thread(id), loadingOlder: false });
      this.lastError = errorText(error);
    }
    this.changed();
  }

  /** The message each conversation's composer is answering, until it is sent or the reply is cancelled. */
  replyingTo = new Map<string, string>();

  startReply(conversationId: string, messageId: string): void {
    this.replyingTo.set(conversationId, messageId);
    this.changed();
  }

  cancelReply(conversationId: string): void {
    if (this.replyingTo.delete(conversationId)) this.changed();
  }

  /** A message already held for this conversation, for quoting it (undefined when it is further back than what is loaded). */
  held(conversationId: string, messageId: string): Message | undefined {
    return this.threads.get(conversationId)?.messages.find((m) => m.id === messageId);
  }

  send(conversationId: string, content: MessageContent, type: SendableType = 'text'): void {
    const replyTo = this.replyingTo.get(conversationId);
    if (replyTo && content.reply_to === undefined) content = { ...content, reply_to: { message_id: replyTo } };
    this.replyingTo.delete(conversationId);
    const sent = this.client.send(conversationId, { type, content });
    this.refreshPending();
    this.changed();
    sent.then(
      () => {
        this.refreshPending();
        this.changed();
      },
      (error: unknown) => {
        // Kept as the error itself: the view says it in the user's language by its code.
        this.refused.set(sent.client_msg_id, { conversationId, content, error });
        this.refreshPending();
        this.changed();
      },
    );
  }

  /** Sends the files that waited for the network, in the order they were picked. */
  private flushUploads(): void {
    if (this.offline || this.queuedUploads.length === 0) return;
    const queued = this.queuedUploads.splice(0);
    this.changed();
    void (async () => {
      for (const q of queued) await this.sendFile(q.conversationId, q.file);
    })();
  }

  async sendFile(conversationId: string, file: File): Promise<void> {
    if (this.offline) {
      this.queuedUploads = [...this.queuedUploads, { id: `${Date.now()}-${Math.random()}`, conversationId, file }];
      this.changed();
      return;
    }
    const upload: Upload = { id: `${Date.now()}-${Math.random()}`, conversationId, name: file.name };
    this.uploads = [...this.uploads, upload];
    this.changed();
    try {
      const mime = file.type || 'application/octet-stream';
      const stored = await this.client.uploadFile(conversationId, file, file.name, mime);
      const image = mime.startsWith('image/');
      const size = image ? await imageSize(file) : undefined;
      this.send(conversationId, { file_id: stored.id, ...(size && size) }, image ? 'image' : 'file');
    } catch (error) {
      // The network went away mid-upload ("Failed to fetch"): keep the file for when it is back.
      if (error instanceof TypeError || this.offline || (typeof navigator !== 'undefined' && navigator.onLine === false)) {
        this.queuedUploads = [...this.queuedUploads, { id: upload.id, conversationId, file }];
      } else this.lastError = errorText(error);
    } finally {
      this.uploads = this.uploads.filter((u) => u !== upload);
      this.changed();
    }
  }

  // ---- reactions and search ----

  reactionsOf(message: Message): ReactionSummary[] {
    return this.reactions.get(message.id) ?? message.reactions ?? [];
  }

  /** Adds my reaction with this emoji, or takes it back when I had it. */
  async toggleReaction(message: Message, emoji: string): Promise<void> {
    const mine = this.reactionsOf(message).some((r) => r.emoji === emoji && r.user_ids.includes(this.me));
    await this.run(async () => {
      const after = mine ? await this.client.conversations.unreact(message.id, emoji) : await this.client.conversations.react(message.id, emoji);
      this.reactions.set(message.id, after.reactions);
      this.changed();
    });
  }

  /** Messages with every word of the query in my conversations, newest first. Throws (the search box says why). */
  searchMessages(q: string, cursor?: string): Promise<MessageSearchResult> {
    return this.client.conversations.searchMessages({ q, limit: 20, ...(cursor ? { cursor } : {}) });
  }

  /**
   * Opens a conversation at a message: older pages are loaded (in order, so
   * the thread has no gaps) until it is held with some context above it; the
   * view scrolls to it and highlights it.
   */
  async reveal(conversationId: string, seq: number): Promise<void> {
    this.focus = { conversationId, seq, at: Date.now() };
    this.changed();
    await this.loadThread(conversationId);
    for (let pages = 0; pages < 50; pages++) {
      const t = this.thread(conversationId);
      const first = t.messages[0]?.seq ?? 1;
      if (first <= Math.max(1, seq - 5) || !t.hasOlder) break;
      const page = await this.client.history(conversationId, { before: first, limit: 200 });
      const now = this.thread(conversationId);
      this.threads.set(conversationId, { ...now, messages: mergeMessages(now.messages, page.messages), hasOlder: page.has_more });
      this.changed();
    }
  }

  /** The view has shown the focused message. */
  focused(): void {
    this.focus = undefined;
  }

  async edit(messageId: string, text: string): Promise<void> {
    await this.run(() => this.client.edit(messageId, text));
  }

  async recall(messageId: string): Promise<void> {
    await this.run(() => this.client.recall(messageId));
  }

  async stopReply(messageId: string): Promise<void> {
    await this.run(() => this.client.stop(messageId));
  }

  async rate(message: Message, rating: 'up' | 'down' | null): Promise<void> {
    await this.run(() => api<FeedbackResult>('POST', `/api/messages/${encodeURIComponent(message.id)}/feedback`, { token: this.token, body: { rating } }));
  }

  typingIn(conversationId: string): void {
    this.client.typing(conversationId);
  }

  whoIsTyping(conversationId: string): string[] {
    const now = Date.now();
    return [...(this.typing.get(conversationId) ?? [])].filter(([, until]) => until > now).map(([id]) => this.nameOf(id));
  }

  /** A link for <img src> or a download; undefined until it has arrived (the store changes then). */
  fileUrl(fileId: string): string | undefined {
    return this.fileLinks.get(fileId);
  }

  dismissError(): void {
    this.lastError = undefined;
    this.changed();
  }

  // ---- people ----

  nameOf(userId: string): string {
    const p = this.people.get(userId);
    if (p) return p.name;
    void this.person(userId);
    return userId;
  }

  person(userId: string): Promise<Person | undefined> {
    const known = this.people.get(userId);
    if (known) return Promise.resolve(known);
    let asked = this.asking.get(userId);
    if (!asked) {
      asked = api<User>('GET', `/api/users/${encodeURIComponent(userId)}`, { token: this.token }).then(
        (p) => {
          this.people.set(p.id, { id: p.id, name: p.name, kind: p.kind, avatar_url: p.avatar_url });
          this.changed();
          return p;
        },
        () => undefined,
      );
      this.asking.set(userId, asked);
    }
    return asked;
  }

  async searchPeople(q: string): Promise<Person[]> {
    const { users } = await api<PeopleResult>('GET', `/api/people?limit=30&q=${encodeURIComponent(q)}`, { token: this.token });
    for (const u of users) this.people.set(u.id, u);
    return users.filter((u) => u.id !== this.me);
  }

  // ---- events ----

  private onMessage(m: Message): void {
    const held = this.threads.get(m.conversation_id);
    if (held) this.threads.set(m.conversation_id, { ...held, messages: mergeMessages(held.messages, [m]) });
    const c = this.conversations.get(m.conversation_id);
    if (!c) {
      void this.discover(m);
    } else {
      const mine = m.sender_id === this.me;
      // Only a message newer than the last one counted adds to unread: the same message arriving twice
      // (live, then again in a sync or a discovery racing it) or an older one must not count again.
      const newer = !c.last_message || c.last_message.seq < m.seq;
      this.conversations.set(c.id, {
        ...c,
        ...(newer && { last_message: m, last_activity: Math.max(c.last_activity, m.created_at) }),
        unread: mine || !newer || this.isWatching(c.id) ? c.unread : c.unread + 1,
      });
      if (newer) this.maybeNotify(c, m);
    }
    if (m.sender_id === this.me) {
      this.refreshPending();
    } else {
      void this.person(m.sender_id);
      void this.client.markDelivered(m.conversation_id, m.seq).catch(() => undefined);
      this.typing.get(m.conversation_id)?.delete(m.sender_id);
      if (this.isWatching(m.conversation_id)) this.markRead(m.conversation_id);
    }
    this.changed();
  }

  private onUpdated(m: Message): void {
    const held = this.threads.get(m.conversation_id);
    if (held) this.threads.set(m.conversation_id, { ...held, messages: mergeMessages(held.messages, [m]) });
    const c = this.conversations.get(m.conversation_id);
    if (c?.last_message?.id === m.id) this.conversations.set(c.id, { ...c, last_message: m });
    this.changed();
  }

  private onDelta(conversationId: string, messageId: string, offset: number, text: string): void {
    const held = this.threads.get(conversationId);
    const at = held ? held.messages.findLastIndex((m) => m.id === messageId) : -1;
    if (!held || at < 0) return;
    const message = held.messages[at]!;
    if (message.state !== 'streaming') return;
    const current = typeof message.content.text === 'string' ? message.content.text : '';
    const next = applyDelta(current, offset, text);
    if (next === undefined) {
      // Pieces went missing: history gives a streaming reply's text so far, and deltas go on from there.
      void this.client.history(conversationId, { after: message.seq - 1, limit: 1 }).then((page) => {
        const t = this.thread(conversationId);
        this.threads.set(conversationId, { ...t, messages: mergeMessages(t.messages, page.messages) });
        this.changed();
      }, () => undefined);
      return;
    }
    const messages = held.messages.slice();
    messages[at] = { ...message, content: { ...message.content, text: next } };
    this.threads.set(conversationId, { ...held, messages });
    this.deltas.set(messageId, (this.deltas.get(messageId) ?? 0) + 1);
    this.changed();
  }

  private onReceipt(conversationId: string, userId: string, kind: 'read' | 'delivered', seq: number): void {
    const list = this.members.get(conversationId);
    if (userId === this.me && kind === 'read') {
      const c = this.conversations.get(conversationId);
      if (c && seq >= c.read_seq) this.conversations.set(conversationId, { ...c, read_seq: seq, unread: Math.max(0, (c.last_message?.seq ?? seq) - seq) });
    }
    if (list) {
      this.members.set(conversationId, list.map((m) => (m.user_id !== userId ? m : kind === 'read'
        ? { ...m, read_seq: Math.max(m.read_seq, seq), delivered_seq: Math.max(m.delivered_seq, seq) }
        : { ...m, delivered_seq: Math.max(m.delivered_seq, seq) })));
    }
    this.changed();
  }

  private onTyping(conversationId: string, userId: string): void {
    if (userId === this.me) return;
    let map = this.typing.get(conversationId);
    if (!map) this.typing.set(conversationId, (map = new Map()));
    map.set(userId, Date.now() + TYPING_SHOWN_MS);
    void this.person(userId);
    // Re-render once a second while anyone types, so "is typing" goes away on time.
    this.typingTimer ??= setInterval(() => {
      const now = Date.now();
      let any = false;
      for (const m of this.typing.values()) for (const [id, until] of m) if (until <= now) m.delete(id); else any = true;
      if (!any) {
        clearInterval(this.typingTimer);
        this.typingTimer = undefined;
      }
      this.changed();
    }, 1_000);
    this.changed();
  }

  private onMember(conversationId: string, event: 'joined' | 'left' | 'removed' | 'updated', userId: string, member: Member | null): void {
    if (userId === this.me && (event === 'left' || event === 'removed')) {
      this.conversations.delete(conversationId);
      this.threads.delete(conversationId);
      if (this.openId === conversationId) this.openId = undefined;
      return this.changed();
    }
    const list = this.members.get(conversationId);
    if (list) {
      const rest = list.filter((m) => m.user_id !== userId);
      this.members.set(conversationId, (event === 'joined' || event === 'updated') && member ? [...rest, member] : rest);
    }
    void this.person(userId);
    this.changed();
  }

  private onAgentState(frame: AgentStateFrame): void {
    if (frame.state === 'idle') this.agents.delete(frame.conversation_id);
    else this.agents.set(frame.conversation_id, { agentId: frame.agent_id, state: frame.state, ...(frame.message_id && { messageId: frame.message_id }) });
    this.changed();
  }

  // ---- helpers ----

  private upsertSummary(s: ConversationSummary): void {
    const held = this.conversations.get(s.id);
    // Messages that arrived live after the server read this summary are newer than it: they stay counted.
    const ahead = held?.last_message && held.last_message.seq > (s.last_message?.seq ?? 0) ? held.last_message.seq - (s.last_message?.seq ?? 0) : 0;
    this.conversations.set(s.id, {
      id: s.id, kind: s.kind, title: s.title,
      last_message: ahead > 0 ? held!.last_message : s.last_message,
      last_activity: Math.max(held?.last_activity ?? 0, s.last_message_at ?? s.created_at),
      unread: this.isWatching(s.id) ? 0 : s.unread + (held?.last_message?.sender_id === this.me ? 0 : ahead),
      read_seq: s.read_seq,
      pinned: s.pinned,
      muted: s.muted,
    });
  }

  private upsertConversation(conv: Conversation): void {
    const held = this.conversations.get(conv.id);
    this.conversations.set(conv.id, {
      id: conv.id, kind: conv.kind, title: conv.title,
      last_message: held?.last_message ?? null,
      last_activity: Math.max(held?.last_activity ?? 0, conv.last_message_at ?? conv.created_at),
      unread: held?.unread ?? 0,
      read_seq: held?.read_seq ?? 0,
      ...(held?.pinned !== undefined && { pinned: held.pinned }),
      ...(held?.muted !== undefined && { muted: held.muted }),
    });
    if (!this.members.has(conv.id)) void this.loadMembers(conv.id);
    this.changed();
  }

  /**
   * A message of a conversation not in the list yet (it was created elsewhere, or the list is still loading).
   * One fetch per conversation: messages that arrive meanwhile wait on it and are then counted in the order they
   * arrived (promise reactions run in registration order), so a burst cannot count an older one after a newer one
   * and lose it (seen as a tab title stuck at 28 of 43 unread).
   */
  private async discover(m: Message): Promise<void> {
    let found = this.discovering.get(m.conversation_id);
    if (!found) {
      found = this.client.conversations.get(m.conversation_id).then((conv) => this.upsertConversation(conv));
      const done = found.finally(() => this.discovering.delete(m.conversation_id));
      done.catch(() => undefined);
      this.discovering.set(m.conversation_id, found);
    }
    try {
      await found;
    } catch {
      return; // Not visible to us (removed meanwhile): nothing to show.
    }
    const c = this.conversations.get(m.conversation_id);
    if (c) {
      const newer = !c.last_message || c.last_message.seq < m.seq;
      const unread = newer && m.sender_id !== this.me && !this.isWatching(c.id) ? c.unread + 1 : c.unread;
      this.conversations.set(c.id, { ...c, unread, ...(newer && { last_message: m, last_activity: Math.max(c.last_activity, m.created_at) }) });
      if (newer) this.maybeNotify(c, m);
    }
    this.changed();
  }

  private async loadMembers(conversationId: string, force = false): Promise<void> {
    if (this.members.has(conversationId) && !force) return;
    try {
      const list = await this.client.conversations.members(conversationId);
      this.members.set(conversationId, list);
      await Promise.all(list.map((m) => this.person(m.user_id)));
      this.changed();
    } catch (error) {
      this.lastError = errorText(error);
    }
  }

  private isWatching(conversationId: string): boolean {
    return this.openId === conversationId && document.visibilityState === 'visible';
  }

  private markRead(conversationId: string): void {
    const c = this.conversations.get(conversationId);
    const last = this.thread(conversationId).messages.at(-1)?.seq ?? c?.last_message?.seq ?? 0;
    if (!c || last <= 0) return;
    if (c.unread !== 0 || c.read_seq < last) this.conversations.set(c.id, { ...c, unread: 0, read_seq: Math.max(c.read_seq, last) });
    if (c.read_seq < last) void this.client.markRead(conversationId, last).catch(() => undefined);
    this.changed();
  }

  private refreshPending(): void {
    this.pending = this.client.pending();
  }

  private async run(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.lastError = errorText(error);
      this.changed();
    }
  }
}

function imageSize(file: File): Promise<{ width: number; height: number } | undefined> {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => {
      resolve(img.naturalWidth > 0 ? { width: img.naturalWidth, height: img.naturalHeight } : undefined);
      URL.revokeObjectURL(url);
    };
    img.onerror = () => {
      resolve(undefined);
      URL.revokeObjectURL(url);
    };
    img.src = url;
  });
}
