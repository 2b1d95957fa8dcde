// Which of the configured models an agent may be given. GET /api/models lists
// every model the router serves, embeddings, audio and rerank included (the
// gateway serves them all); an agent chats, so its picker offers chat models.

/** What the console needs of a GET /api/models entry. */
export interface ListedModel {
  name: string;
  /** chat, embedding, transcription, speech or rerank; a server from before the field sent none. */
  kind?: string;
}

/** The names an agent's model picker offers, in the server's order. */
export function chatModelNames(models: readonly ListedModel[]): string[] {
  return models.filter((m) => m.kind === undefined || m.kind === 'chat').map((m) => m.name);
}
