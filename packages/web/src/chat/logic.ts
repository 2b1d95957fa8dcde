import type { Message } from '@warbler/sdk';

/**
 * A streaming reply's text after a delta. Deltas say where their text goes;
 * one that starts past the end means some were missed (returns undefined:
 * the caller refetches the message), one that starts earlier overlaps text
 * already held and rewrites from there.
 */
export function applyDelta(text: string, offset: number, delta: string): string | undefined {
  if (offset > text.length) return undefined;
  return text.slice(0, offset) + delta;
}

/** Messages by seq, newest version of each kept; the list stays sorted. */
export function mergeMessages(list: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return list as Message[];
  const bySeq = new Map(list.map((m) => [m.seq, m]));
  for (const m of incoming) {
    const held = bySeq.get(m.seq);
    if (!held || held.updated_at <= m.updated_at) bySeq.set(m.seq, keepLiveText(held, m));
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** A stored copy of a reply still streaming may lag the text the deltas already gave us; keep the longer. */
function keepLiveText(held: Message | undefined, next: Message): Message {
  if (!held || next.state !== 'streaming' || held.state !== 'streaming') return next;
  const heldText = textOf(held);
  return heldText.length > textOf(next).length ? { ...next, content: { ...next.content, text: heldText } } : next;
}

export function textOf(message: { content: Record<string, unknown> }): string {
  const text = message.content.text;
  return typeof text === 'string' ? text : '';
}

/** The @word being typed at the caret, if any: where it starts and what is typed after the @. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | undefined {
  const before = text.slice(0, caret);
  const m = /(^|\s)@([^\s@]{0,40})$/u.exec(before);
  if (!m) return undefined;
  return { start: caret - m[2]!.length - 1, query: m[2]! };
}

/** The text with the @word at `start` replaced by @name and a space, and where the caret goes. */
export function insertMention(text: string, start: number, caret: number, name: string): { text: string; caret: number } {
  const inserted = `@${name} `;
  return { text: text.slice(0, start) + inserted + text.slice(caret), caret: start + inserted.length };
}

/** Ids of the people picked from the list whose @Name is still in the text when it is sent. */
export function mentionedIds(text: string, picked: ReadonlyMap<string, string>): string[] {
  const lower = text.toLowerCase();
  return [...picked].filter(([, name]) => lower.includes(`@${name.toLowerCase()}`)).map(([id]) => id);
}

export type ReceiptState = 'sent' | 'delivered' | 'read';

/** How far the others got with a message of mine: read when all have read it (direct), with a count for groups. */
export function receiptOf(seq: number, others: ReadonlyArray<{ read_seq: number; delivered_seq: number }>): { state: ReceiptState; readBy: number } {
  const readBy = others.filter((m) => m.read_seq >= seq).length;
  if (others.length > 0 && readBy === others.length) return { state: 'read', readBy };
  const delivered = others.some((m) => m.delivered_seq >= seq || m.read_seq >= seq);
  return { state: readBy > 0 ? 'read' : delivered ? 'delivered' : 'sent', readBy };
}

/** One line of a conversation list: the last message as a short text. */
export function preview(message: Message | null | undefined, labels: { image: string; file: string; recalled: string }): string {
  if (!message) return '';
  if (message.state === 'recalled') return labels.recalled;
  if (message.type === 'image') return `[${labels.image}]`;
  if (message.type === 'file') return `[${labels.file}] ${String(message.content.name ?? '')}`.trim();
  return textOf(message).replace(/\s+/g, ' ').slice(0, 120);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Consecutive messages from one sender within this long read as one block, as chat apps group them. */
export const GROUP_WITHIN_MS = 5 * 60_000;

/** A day separator goes before a message whose local day differs from the one before it (and before the first). */
export function startsNewDay(prev: { created_at: number } | undefined, message: { created_at: number }): boolean {
  return !prev || new Date(prev.created_at).toDateString() !== new Date(message.created_at).toDateString();
}

/** A message continues the block above it: same sender, same day, within GROUP_WITHIN_MS, neither a system line. */
export function continuesBlock(prev: { sender_id: string; created_at: number; type: string } | undefined, message: { sender_id: string; created_at: number; type: string }): boolean {
  return !!prev && prev.sender_id === message.sender_id && prev.type !== 'system' && message.type !== 'system'
    && message.created_at - prev.created_at < GROUP_WITHIN_MS && !startsNewDay(prev, message);
}

/** The tab's title: the unread count first, so a hidden tab shows there is something new. */
export function tabTitle(base: string, unread: number): string {
  return unread > 0 ? `(${unread > 99 ? '99+' : unread}) ${base}` : base;
}

/** Whether a message mentions me (its content lists the ids it mentions). */
export function mentionsMe(content: Record<string, unknown>, me: string): boolean {
  return Array.isArray(content.mentions) && content.mentions.includes(me);
}
