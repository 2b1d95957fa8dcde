import type { Message, MessageContent, SendableType } from '@warbler/protocol';
import { WarblerError } from './errors.ts';

/**
 * Where the outbox survives a page reload. `localStorage` fits through
 * `webStorage(localStorage)`; anything with get/set (IndexedDB, a file) works.
 */
export interface WarblerStorage {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): void | Promise<void>;
}

/** Adapts the browser's Storage (localStorage, sessionStorage). */
export function webStorage(storage: { getItem(key: string): string | null; setItem(key: string, value: string): void }): WarblerStorage {
  return { get: (key) => storage.getItem(key), set: (key, value) => storage.setItem(key, value) };
}

/** Every message type but system (the server's own notices): the protocol's list. */
export type { SendableType };

/** A message waiting for the server to store it. */
export interface QueuedSend {
  client_msg_id: string;
  conversation_id: string;
  msg_type: SendableType;
  content: MessageContent;
  queued_at: number;
}

interface Entry extends QueuedSend {
  settle?: { resolve: (message: Message) => void; reject: (error: WarblerError) => void };
}

/**
 * Sends in the order they were made, per conversation. An entry leaves only
 * when the server has stored it (its message comes back) or refused it for
 * good; a dropped socket leaves it queued for the next connection.
 */
export class Outbox {
  private entries: Entry[] = [];
  private readonly inflight = new Set<string>();
  private storageKey: string | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: WarblerStorage | undefined,
    private readonly onStorageError: (error: unknown) => void,
  ) {}

  /** Brings back what an earlier run left unsent, ahead of anything queued since. */
  async load(key: string): Promise<void> {
    if (this.storageKey !== undefined || !this.storage) return;
    let stored: QueuedSend[] = [];
    try {
      const raw = await this.storage.get(key);
      if (raw) stored = (JSON.parse(raw) as QueuedSend[]).filter(isQueuedSend);
    } catch (error) {
      this.onStorageError(error);
    }
    this.storageKey = key;
    const mine = new Set(this.entries.map((e) => e.client_msg_id));
    this.entries = [...stored.filter((e) => !mine.has(e.client_msg_id)), ...this.entries];
    this.persist();
  }

  enqueue(send: QueuedSend): Promise<Message> {
    const promise = new Promise<Message>((resolve, reject) => {
      this.entries.push({ ...send, settle: { resolve, reject } });
    });
    this.persist();
    return promise;
  }

  list(): QueuedSend[] {
    return this.entries.map(({ settle: _settle, ...send }) => send);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The next send of each conversation that is not already on the wire; marks them as on the wire. */
  take(): QueuedSend[] {
    const blocked = new Set<string>();
    const out: QueuedSend[] = [];
    for (const entry of this.entries) {
      if (blocked.has(entry.conversation_id)) continue;
      blocked.add(entry.conversation_id);
      if (this.inflight.has(entry.client_msg_id)) continue;
      this.inflight.add(entry.client_msg_id);
      const { settle: _settle, ...send } = entry;
      out.push(send);
    }
    return out;
  }

  /** The server holds this message: settle the send it came from, if it is ours. Duplicates are no-ops. */
  stored(message: Message): boolean {
    if (message.client_msg_id === null) return false;
    const index = this.entries.findIndex((e) => e.client_msg_id === message.client_msg_id && e.conversation_id === message.conversation_id);
    if (index < 0) return false;
    const [entry] = this.entries.splice(index, 1);
    this.inflight.delete(message.client_msg_id);
    this.persist();
    entry?.settle?.resolve(message);
    return true;
  }

  /** The server refused this send for good. */
  refused(clientMsgId: string, error: WarblerError): void {
    const index = this.entries.findIndex((e) => e.client_msg_id === clientMsgId);
    if (index < 0) return;
    const [entry] = this.entries.splice(index, 1);
    this.inflight.delete(clientMsgId);
    this.persist();
    entry?.settle?.reject(error);
  }

  /** Off the wire, to be sent again. */
  release(clientMsgId: string): void {
    this.inflight.delete(clientMsgId);
  }

  releaseAll(): void {
    this.inflight.clear();
  }

  private persist(): void {
    const storage = this.storage;
    const key = this.storageKey;
    // Until load() has read the stored queue, writing would erase it.
    if (!storage || key === undefined) return;
    const value = JSON.stringify(this.list());
    this.writing = this.writing
      .then(() => storage.set(key, value))
      .catch((error: unknown) => this.onStorageError(error));
  }

  /** Resolves when everything written so far has reached the storage. */
  flushed(): Promise<void> {
    return this.writing;
  }
}

function isQueuedSend(value: unknown): value is QueuedSend {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.client_msg_id === 'string' && typeof v.conversation_id === 'string' && typeof v.msg_type === 'string'
    && typeof v.content === 'object' && v.content !== null;
}
