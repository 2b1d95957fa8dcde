import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';

/** Stands in for an argument while the query is compiled; never reaches the database. */
class Slot {
  constructor(readonly key: string) {}
}

/**
 * A query built and compiled once, then run with fresh arguments. Kysely
 * rebuilds, freezes and recompiles a query on every call, which costs about as
 * much CPU as SQLite takes to run it; the send path runs the same few shapes
 * thousands of times a second, so it compiles them once.
 *
 * `build` receives stand-ins for the arguments: use them only as plain values
 * (in where, set, values), never in JS logic or spreads, since they are not the
 * real thing.
 */
export function prepare<A extends Record<string, unknown>, R>(build: (args: A) => Compilable<R>): (db: Kysely<any>, args: A) => Promise<QueryResult<R>> {
  const stand = new Proxy({} as A, { get: (_target, key) => new Slot(String(key)) });
  let compiled: CompiledQuery<R> | undefined;
  return (db, args) => {
    compiled ??= build(stand).compile();
    const parameters = compiled.parameters.map((p) => (p instanceof Slot ? args[p.key] : p));
    return db.executeQuery({ ...compiled, parameters });
  };
}
