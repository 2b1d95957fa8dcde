import type { ByeFrame } from '@warbler/protocol';
import type { ChatEvent, MemberDirectory } from '../chat/index.ts';
import type { Broker } from './broker.ts';

/** What the hub needs of a connected socket. */
export interface Connection {
  readonly id: string;
  readonly appId: string;
  readonly userId: string;
  /** Sends an already-serialized frame; the connection enforces its own buffer bound. */
  sendRaw(data: string): void;
  close(code: number, reason: string, bye?: ByeFrame): void;
}

/**
 * Routes chat events to the sockets of the users they concern. A user gets
 * every event of every conversation they are in, found through the member
 * directory, so nobody subscribes per conversation and a new membership takes
 * effect on the next event. Each event is serialized once, whatever the fan-out.
 */
export class Hub {
  private readonly byUser = new Map<string, Set<Connection>>();
  /** Events waiting for a conversation's member list to load, kept in arrival order. */
  private readonly waiting = new Map<string, Extract<ChatEvent, { to: 'conversation' }>[]>();
  private readonly unsubscribe: () => void;

  constructor(
    broker: Broker,
    private readonly directory: MemberDirectory,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.unsubscribe = broker.subscribe((event) => this.route(event));
  }

  add(conn: Connection): void {
    const key = userKey(conn.appId, conn.userId);
    let set = this.byUser.get(key);
    if (!set) this.byUser.set(key, (set = new Set()));
    set.add(conn);
  }

  remove(conn: Connection): void {
    const key = userKey(conn.appId, conn.userId);
    const set = this.byUser.get(key);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) this.byUser.delete(key);
  }

  get connectionCount(): number {
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  /** Closes every socket with a reason (shutdown). */
  closeAll(code: number, reason: string, bye?: ByeFrame): void {
    for (const set of [...this.byUser.values()]) for (const conn of [...set]) conn.close(code, reason, bye);
  }

  stop(): void {
    this.unsubscribe();
  }

  private route(event: ChatEvent): void {
    if (event.to === 'user') {
      const set = this.byUser.get(userKey(event.app_id, event.user_id));
      if (!set) return;
      const data = event.frame ? JSON.stringify(event.frame) : undefined;
      for (const conn of [...set]) {
        if (data) conn.sendRaw(data);
        if (event.close) conn.close(event.close.code, event.close.reason);
      }
      return;
    }
    if (event.members_changed) this.directory.forget(event.app_id, event.conversation_id);
    const key = userKey(event.app_id, event.conversation_id);
    const queue = this.waiting.get(key);
    if (queue) {
      queue.push(event);
      return;
    }
    const members = this.directory.peek(event.app_id, event.conversation_id);
    if (members) {
      this.deliver(event, members.keys());
      return;
    }
    // Member list not in memory: hold this and any later events of the
    // conversation until it loads, so their order is kept.
    const pending = [event];
    this.waiting.set(key, pending);
    this.directory
      .members(event.app_id, event.conversation_id)
      .then((loaded) => {
        this.waiting.delete(key);
        for (const e of pending) {
          // A later event may have changed membership; reload its view lazily.
          this.deliver(e, (this.directory.peek(e.app_id, e.conversation_id) ?? loaded).keys());
        }
      })
      .catch((err: unknown) => {
        this.waiting.delete(key);
        this.onError(err);
      });
  }

  private deliver(event: Extract<ChatEvent, { to: 'conversation' }>, userIds: Iterable<string>): void {
    const data = JSON.stringify(event.frame);
    // A method rather than a closure made per event: this runs for every delta of every streaming reply.
    for (const userId of userIds) this.sendTo(event, userId, data);
    if (event.also_users) for (const userId of event.also_users) this.sendTo(event, userId, data);
  }

  private sendTo(event: Extract<ChatEvent, { to: 'conversation' }>, userId: string, data: string): void {
    if (userId === event.except_user) return;
    const set = this.byUser.get(userKey(event.app_id, userId));
    if (!set) return;
    for (const conn of set) if (conn.id !== event.except_session) conn.sendRaw(data);
  }
}

const userKey = (appId: string, id: string) => `${appId}\u0000${id}`;
