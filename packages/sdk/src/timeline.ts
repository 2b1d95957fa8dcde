import type { Message } from '@warbler/protocol';

interface Track {
  /** Highest seq held with nothing missing below it (down to where tracking began). */
  cursor: number | undefined;
  /** Messages past a gap, or heard before tracking began; emitted once the gap closes. */
  ahead: Map<number, Message>;
}

/** How many message versions to remember for de-duplicating `message.updated`. */
const VERSIONS_KEPT = 5_000;

/**
 * What this client has seen of each conversation. It decides which messages
 * may be emitted: only the one right after the cursor, so every message is
 * emitted once, in seq order, whatever mix of pushes, acks, sync and history
 * pages brings it. It holds no message bodies except those waiting behind a gap.
 */
export class Timeline {
  private readonly tracks = new Map<string, Track>();
  /** updated_at of the newest version emitted, per message id (bounded, oldest forgotten first). */
  private readonly versions = new Map<string, number>();
  /** Server time of the newest event seen; `sync` replays edits after it. */
  since: number | undefined;

  constructor(cursors: Record<string, number> = {}, since?: number) {
    for (const [id, seq] of Object.entries(cursors)) this.tracks.set(id, { cursor: seq, ahead: new Map() });
    this.since = since;
  }

  seen(ts: number | undefined): void {
    if (typeof ts === 'number' && (this.since === undefined || ts > this.since)) this.since = ts;
  }

  /** Tracking has begun: the client knows where its history of this conversation starts. */
  tracked(conversationId: string): boolean {
    return this.tracks.get(conversationId)?.cursor !== undefined;
  }

  cursor(conversationId: string): number | undefined {
    return this.tracks.get(conversationId)?.cursor;
  }

  cursors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, track] of this.tracks) if (track.cursor !== undefined) out[id] = track.cursor;
    return out;
  }

  /** Conversations with messages waiting: behind a gap, or before tracking began. */
  waiting(): string[] {
    return [...this.tracks].filter(([, t]) => t.ahead.size > 0).map(([id]) => id);
  }

  /** Lowest seq waiting for a conversation, if any. */
  firstWaiting(conversationId: string): number | undefined {
    const ahead = this.tracks.get(conversationId)?.ahead;
    return ahead && ahead.size > 0 ? Math.min(...ahead.keys()) : undefined;
  }

  /**
   * Begin tracking after `cursor`: the client deliberately does not hold
   * what came before (it is history the app pages on demand). Returns the
   * waiting messages that now follow on.
   */
  begin(conversationId: string, cursor: number): Message[] {
    const track = this.track(conversationId);
    if (track.cursor !== undefined) return [];
    track.cursor = cursor;
    return this.drain(track);
  }

  /** A new message from anywhere. Returns what may be emitted now, in order. */
  add(message: Message): Message[] {
    const track = this.track(message.conversation_id);
    if (track.cursor !== undefined && message.seq <= track.cursor) return [];
    const waiting = track.ahead.get(message.seq);
    if (!waiting || waiting.updated_at < message.updated_at) track.ahead.set(message.seq, message);
    return this.drain(track);
  }

  /**
   * A changed message. One the client already emitted comes back as the
   * update to emit (unless this version was emitted before); one it has not
   * reached yet is simply a newer copy of a message still to come.
   */
  update(message: Message): { updated?: Message; added: Message[] } {
    const track = this.track(message.conversation_id);
    if (track.cursor === undefined || message.seq > track.cursor) return { added: this.add(message) };
    const known = this.versions.get(message.id);
    if (known !== undefined && known >= message.updated_at) return { added: [] };
    this.remember(message);
    return { updated: message, added: [] };
  }

  /** The seq to pull history after: there is a gap before a waiting message. */
  gapAfter(conversationId: string): number | undefined {
    const track = this.tracks.get(conversationId);
    if (!track || track.cursor === undefined || track.ahead.size === 0) return undefined;
    return track.cursor;
  }

  /**
   * The server has nothing to fill the gap with (history ended below the
   * waiting messages): move on rather than hold them forever.
   */
  skipGap(conversationId: string): Message[] {
    const track = this.tracks.get(conversationId);
    const first = this.firstWaiting(conversationId);
    if (!track || track.cursor === undefined || first === undefined) return [];
    track.cursor = first - 1;
    return this.drain(track);
  }

  /** The user is no longer in the conversation. */
  forget(conversationId: string): void {
    this.tracks.delete(conversationId);
  }

  private track(conversationId: string): Track {
    let track = this.tracks.get(conversationId);
    if (!track) this.tracks.set(conversationId, (track = { cursor: undefined, ahead: new Map() }));
    return track;
  }

  private drain(track: Track): Message[] {
    const out: Message[] = [];
    if (track.cursor === undefined) return out;
    for (const seq of [...track.ahead.keys()]) if (seq <= track.cursor) track.ahead.delete(seq);
    for (let next = track.ahead.get(track.cursor + 1); next; next = track.ahead.get(track.cursor + 1)) {
      track.ahead.delete(next.seq);
      track.cursor = next.seq;
      this.remember(next);
      out.push(next);
    }
    return out;
  }

  private remember(message: Message): void {
    this.versions.delete(message.id);
    this.versions.set(message.id, message.updated_at);
    if (this.versions.size > VERSIONS_KEPT) {
      const oldest = this.versions.keys().next().value;
      if (oldest !== undefined) this.versions.delete(oldest);
    }
  }
}
