import type { CannedReply, Message, SupportConversation, SupportNote, SupportPushFrame } from '@warbler/sdk';
import { errorText } from '../api.ts';
import { applyDelta, mergeMessages } from '../chat/logic.ts';
import type { ChatStore } from '../chat/store.ts';

const HISTORY = 100;
const SOUND_KEY = 'warbler.inbox.sound';

/**
 * The support inbox's state for a support user, on the chat's own client
 * (one socket): the queues, kept live by `support` frames, and the open
 * conversation with its messages and internal notes.
 */
export class InboxStore {
  /** undefined until the server has said; false hides the inbox. */
  staff: boolean | undefined;
  rows = new Map<string, SupportConversation>();
  loaded = false;
  openId: string | undefined;
  thread: Message[] = [];
  notes: SupportNote[] = [];
  /** An action in flight (claim, resolve…): its buttons wait. */
  busy = false;
  error: string | undefined;
  /** Colleagues a conversation can go to, and the team's canned replies (read with the queues). */
  colleagues: string[] = [];
  canned: CannedReply[] = [];
  /** A chime when a conversation starts waiting for a person; the choice is kept in this browser. */
  sound = typeof localStorage === 'undefined' || localStorage.getItem(SOUND_KEY) !== 'off';
  /** How many times it chimed (the e2e reads it: a headless browser has no speakers). */
  chimes = 0;
  private version = 0;
  private readonly listeners = new Set<() => void>();
  private readonly off: Array<() => void> = [];

  constructor(private readonly chat: ChatStore) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): number => this.version;

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }

  get me(): string {
    return this.chat.me;
  }

  private get support() {
    return this.chat.client.support;
  }

  start(): void {
    const c = this.chat.client;
    this.off.push(
      c.on('support', (f) => this.onSupport(f)),
      c.on('message', (m) => this.onMessage(m)),
      c.on('message.updated', (m) => this.onMessage(m)),
      c.on('message.delta', (d) => this.onDelta(d.conversation_id, d.message_id, d.offset, d.text)),
      // Back after a drop (a server restart): frames sent meanwhile are gone, so read the queues again.
      c.on('status', (s) => {
        if (s.status === 'open' && this.staff) void this.reload();
      }),
    );
    void this.support.me().then((me) => {
      this.staff = me.staff;
      this.changed();
      if (me.staff) void this.reload();
    }, () => {
      this.staff = false;
      this.changed();
    });
  }

  stop(): void {
    for (const off of this.off.splice(0)) off();
  }

  /** Waiting for a person and nobody on it: the number on the inbox's tab. */
  waiting(): number {
    let n = 0;
    for (const r of this.rows.values()) if (r.status === 'pending_human' && r.assignee_id === null) n++;
    return n;
  }

  async reload(): Promise<void> {
    await this.run(async () => {
      const [open, done] = await Promise.all([this.support.queue('all', { limit: 200 }), this.support.queue('resolved', { limit: 50 })]);
      this.rows = new Map([...done.conversations, ...open.conversations].map((r) => [r.conversation_id, r]));
      const [staff, canned] = await Promise.all([this.support.staff().catch(() => []), this.support.cannedReplies().catch(() => [])]);
      this.colleagues = staff.map((s) => s.user_id).filter((id) => id !== this.me);
      for (const id of this.colleagues) void this.chat.person(id);
      this.canned = canned;
      for (const r of this.rows.values()) void this.chat.person(r.customer_id);
      this.loaded = true;
      if (this.openId) await this.refreshThread(this.openId);
    });
  }

  async open(id: string | undefined): Promise<void> {
    this.openId = id;
    this.thread = [];
    this.notes = [];
    this.error = undefined;
    this.changed();
    if (!id) return;
    await this.run(async () => {
      const [row, notes] = await Promise.all([this.support.get(id), this.support.notes(id)]);
      this.rows.set(id, row);
      this.notes = notes;
      await this.refreshThread(id);
    });
  }

  row(id: string): SupportConversation | undefined {
    return this.rows.get(id);
  }

  claim = (id: string) => this.act(() => this.support.claim(id));
  /** To a colleague: a transfer when it is mine (I leave it), an assignment otherwise. */
  assignTo = (id: string, userId: string) => this.act(() => (this.rows.get(id)?.assignee_id === this.me ? this.support.transfer(id, userId) : this.support.assign(id, userId)));

  /** The copilot's draft for this conversation (from the agent's knowledge base), to edit before sending; undefined when it failed (the error says why). */
  async suggest(id: string): Promise<string | undefined> {
    let text: string | undefined;
    await this.run(async () => {
      text = (await this.support.suggest(id)).text;
    });
    return text;
  }

  setSound(on: boolean): void {
    this.sound = on;
    if (typeof localStorage !== 'undefined') localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
    this.changed();
  }
  handBack = (id: string) => this.act(() => this.support.handBack(id));
  resolve = (id: string) => this.act(() => this.support.resolve(id));

  /** A person's answer: an ordinary message of the conversation, which they joined by claiming it. */
  async reply(id: string, text: string): Promise<void> {
    await this.run(async () => {
      const stored = await this.chat.client.send(id, text);
      this.onMessage(stored);
    });
  }

  async addNote(id: string, text: string): Promise<void> {
    await this.run(async () => {
      this.addNoteLocally(await this.support.addNote(id, text));
    });
  }

  dismissError(): void {
    this.error = undefined;
    this.changed();
  }

  private async act(work: () => Promise<SupportConversation>): Promise<void> {
    await this.run(async () => {
      const row = await work();
      this.rows.set(row.conversation_id, row);
      if (row.conversation_id === this.openId) await this.refreshThread(row.conversation_id);
    });
  }

  private async run(work: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.changed();
    try {
      await work();
      this.error = undefined;
    } catch (error) {
      this.error = errorText(error);
    } finally {
      this.busy = false;
      this.changed();
    }
  }

  /** Read through the support route: it works before the support user has joined the conversation. */
  private async refreshThread(id: string): Promise<void> {
    const page = await this.support.history(id, { limit: HISTORY });
    if (this.openId !== id) return;
    this.thread = mergeMessages(this.thread, page.messages);
    this.changed();
  }

  private onSupport(frame: SupportPushFrame): void {
    const id = frame.conversation.conversation_id;
    const before = this.rows.get(id);
    const waitsNow = frame.conversation.status === 'pending_human' && frame.conversation.assignee_id === null;
    if (waitsNow && !(before?.status === 'pending_human' && before.assignee_id === null)) this.chime();
    this.rows.set(id, frame.conversation);
    if (frame.event === 'created' || !this.chat.people.has(frame.conversation.customer_id)) void this.chat.person(frame.conversation.customer_id);
    if (id === this.openId) {
      if (frame.note) this.addNoteLocally(frame.note);
      // Not yet a member, a support user hears no messages: the frame is the cue to read what changed.
      else void this.refreshThread(id).catch(() => undefined);
    }
    this.changed();
  }

  /** A short two-note chime (Web Audio, no file to load); silent when turned off or when the browser allows no sound yet. */
  private chime(): void {
    if (!this.sound) return;
    this.chimes++;
    try {
      const Ctx = window.AudioContext;
      if (!Ctx) return;
      this.audio ??= new Ctx();
      const ctx = this.audio;
      for (const [i, hz] of [880, 1320].entries()) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = hz;
        const at = ctx.currentTime + i * 0.12;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.15, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
        osc.connect(gain).connect(ctx.destination);
        osc.start(at);
        osc.stop(at + 0.2);
      }
    } catch {
      // No audio device, or autoplay not allowed yet: the tab title still counts what waits.
    }
  }

  private audio: AudioContext | undefined;

  private addNoteLocally(note: SupportNote): void {
    if (note.conversation_id !== this.openId || this.notes.some((n) => n.id === note.id)) return;
    this.notes = [...this.notes, note];
    this.changed();
  }

  private onMessage(m: Message): void {
    if (m.conversation_id !== this.openId) return;
    this.thread = mergeMessages(this.thread, [m]);
    this.changed();
  }

  private onDelta(conversationId: string, messageId: string, offset: number, text: string): void {
    if (conversationId !== this.openId) return;
    const i = this.thread.findIndex((m) => m.id === messageId);
    const m = this.thread[i];
    if (!m) return;
    const next = applyDelta(String(m.content.text ?? ''), offset, text);
    if (next === undefined) return;
    this.thread = this.thread.with(i, { ...m, content: { ...m.content, text: next } });
    this.changed();
  }
}
