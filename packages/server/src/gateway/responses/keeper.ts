// Stored responses written in groups. With store: true (the default) every
// /v1/responses call writes its finished Response before the client hears it
// is done; one INSERT and one commit per call was ~10 % of the responses
// path's CPU on SQLite (docs/benchmarks.md, gateway). Responses that finish
// while a write is being made, or in the same turn of the event loop, go
// together in the next one: one statement, one commit. Each keep() still
// resolves only once its row is in the store, so a client that has its answer
// finds it with previous_response_id, as before.
import type { StoredResponseRow } from '../../store/index.ts';

export interface KeeperStore {
  putResponse(row: StoredResponseRow): Promise<void>;
  putResponses(rows: readonly StoredResponseRow[]): Promise<void>;
}

interface Waiting {
  row: StoredResponseRow;
  resolve(): void;
  reject(err: unknown): void;
}

/** At most this many rows in one statement (SQLite allows 32,766 bound values; 9 columns a row). */
const MAX_GROUP = 200;

export class ResponseKeeper {
  private queue: Waiting[] = [];
  private scheduled = false;
  private writing = false;

  constructor(private readonly store: KeeperStore) {}

  /** Resolves once the row is stored; rejects with the store's error for this row. */
  put(row: StoredResponseRow): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    // The rest of this turn's finished responses join the group.
    setImmediate(() => {
      this.scheduled = false;
      void this.write();
    });
  }

  private async write(): Promise<void> {
    const group = this.queue.splice(0, MAX_GROUP);
    if (group.length === 0) return;
    this.writing = true;
    try {
      if (group.length === 1) await settle(group[0]!, this.store.putResponse(group[0]!.row));
      else {
        try {
          await this.store.putResponses(group.map((w) => w.row));
          for (const w of group) w.resolve();
        } catch {
          // One bad row (its app deleted meanwhile, say) fails the statement: each row alone, with its own outcome.
          for (const w of group) await settle(w, this.store.putResponse(w.row));
        }
      }
    } finally {
      this.writing = false;
      if (this.queue.length > 0) this.schedule();
    }
  }
}

async function settle(w: Waiting, write: Promise<void>): Promise<void> {
  try {
    await write;
    w.resolve();
  } catch (err) {
    w.reject(err);
  }
}
