import type { PushFrame } from '@warbler/protocol';

/**
 * What the chat room announces. The realtime room delivers these to sockets
 * (through the Broker, so other nodes hear them too); chat never touches a
 * socket itself.
 */
export type ChatEvent =
  | {
      to: 'conversation';
      app_id: string;
      conversation_id: string;
      frame: PushFrame;
      /** Realtime session that caused the event and already has the answer (its ack). */
      except_session?: string;
      /** Skip this user's sessions (typing is not echoed to the typist). */
      except_user?: string;
      /** Membership changed: caches of the member list must be dropped. */
      members_changed?: boolean;
      /** Also deliver to these users, who are no longer members (so they hear they were removed). */
      also_users?: string[];
    }
  | {
      to: 'user';
      app_id: string;
      user_id: string;
      frame?: PushFrame;
      /** Close the user's sockets (tokens revoked). */
      close?: { code: number; reason: string };
    };

export type PublishChatEvent = (event: ChatEvent) => void;
