import { FileRef, TextContent, type MessageContent, type MessageType } from '@warbler/protocol';
import { badRequest } from '../errors.ts';
import type { Store } from '../store/index.ts';

const OPTIONAL = ', with optional mentions (user ids), metadata (at most 20 flat values) and reply_to ({ message_id } of a message in the same conversation)';

/** The first problem in words a developer can act on: which field, and what is wrong with it. */
function firstIssue(issues: Array<{ code: string; path: PropertyKey[]; message: string; keys?: string[] }>): string {
  const issue = issues[0];
  if (!issue) return '';
  const where = ['content', ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys' && issue.keys) return `${where} has fields a sender may not set: ${issue.keys.join(', ')}.`;
  return `${where}: ${issue.message}.`;
}

/**
 * Checks what a sender put in a message against its type and returns what is
 * stored. File facts (name, MIME, size) come from the upload, not the client,
 * and a message may only point at a file uploaded to the same conversation.
 */
export async function acceptContent(
  store: Store,
  appId: string,
  conversationId: string,
  type: MessageType,
  content: MessageContent,
): Promise<MessageContent> {
  if (type === 'text') {
    const parsed = TextContent.safeParse(content);
    if (!parsed.success) throw badRequest(`A text message takes content.text (1 to 32,000 characters)${OPTIONAL}. ${firstIssue(parsed.error.issues)}`, parsed.error.issues);
    return withReply(store, appId, conversationId, parsed.data);
  }
  if (type === 'image' || type === 'file') {
    const parsed = FileRef.safeParse(content);
    if (!parsed.success) throw badRequest(`An ${type} message takes content.file_id from an upload, and caption${OPTIONAL}. ${firstIssue(parsed.error.issues)}`, parsed.error.issues);
    const file = await store.getFile(appId, parsed.data.file_id);
    if (!file || file.conversation_id !== conversationId) {
      throw badRequest('content.file_id is not a file uploaded to this conversation. Upload it with POST /api/conversations/:id/files first.');
    }
    if (type === 'image' && !file.mime.startsWith('image/')) {
      throw badRequest(`The file is ${file.mime}, not an image; send it as a file message.`);
    }
    return withReply(store, appId, conversationId, { ...parsed.data, name: file.name, mime: file.mime, size: file.size });
  }
  throw badRequest('System messages are written by the server only.');
}

/**
 * A reply names a message of the same conversation; the server adds who sent it (so a client can say
 * "replying to Ann" before it has loaded that far back). One refusal for "no such message" and "a message
 * of another conversation", so a reply cannot probe what exists elsewhere.
 */
async function withReply<T extends { reply_to?: { message_id: string } }>(store: Store, appId: string, conversationId: string, content: T): Promise<T | (T & { reply_to: { message_id: string; sender_id: string } })> {
  if (!content.reply_to) return content;
  const quoted = await store.getMessage(appId, content.reply_to.message_id);
  if (!quoted || quoted.conversation_id !== conversationId) {
    throw badRequest('content.reply_to.message_id is not a message of this conversation.');
  }
  return { ...content, reply_to: { message_id: quoted.id, sender_id: quoted.sender_id } };
}
