// Browser notifications for mentions and direct messages while the tab is hidden. Opt-in: the browser's
// permission is asked only when the user turns the switch on, and the choice is kept per browser.
import type { ConversationKind } from '@warbler/protocol';
import type { Message } from '@warbler/sdk';
import { mentionsMe } from './logic.ts';

const KEY = 'warbler.notifications';
/** Messages older than this when they arrive (a reconnect catching up) are not worth a notification. */
const FRESH_MS = 5 * 60_000;

export interface NotifyContext {
  message: Message;
  me: string;
  kind: ConversationKind;
  muted: boolean;
  /** The tab is hidden (another tab, minimised, screen off). */
  hidden: boolean;
  now: number;
}

/** Why a message deserves a notification ('mention' or 'direct'), or undefined when it does not. */
export function notificationReason(c: NotifyContext): 'mention' | 'direct' | undefined {
  if (!c.hidden || c.muted || c.message.sender_id === c.me || c.message.state === 'recalled') return undefined;
  if (c.now - c.message.created_at > FRESH_MS) return undefined;
  if (mentionsMe(c.message.content, c.me)) return 'mention';
  return c.kind === 'direct' ? 'direct' : undefined;
}

type Permission = 'default' | 'granted' | 'denied';

/** The part of a ServiceWorkerRegistration that shows notifications. */
export interface WorkerNotifications {
  showNotification(title: string, options: { body: string; tag: string; data: { conversation_id: string } }): Promise<void>;
}

/** What public/sw.js posts to the page when one of its notifications is clicked. */
export const OPEN_FROM_NOTIFICATION = 'warbler.notification.open';

/** The switch's state and the one place that shows notifications. */
export class Notifier {
  /** The user turned notifications on here and the browser allows them. */
  enabled: boolean;

  constructor(
    private readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | undefined = globalThis.localStorage,
    private readonly worker: () => Promise<WorkerNotifications | undefined> = serviceWorker,
  ) {
    this.enabled = this.storage?.getItem(KEY) === 'on' && permission() === 'granted';
  }

  /** The browser can show notifications at all (not in every context: an insecure page, some phones). */
  get supported(): boolean {
    return permission() !== undefined;
  }

  /** Turns them on, asking the browser first if it has not been asked; false when the browser or the user refuses. */
  async enable(): Promise<boolean> {
    if (!this.supported) return false;
    // Asked on every turn-on (never before): a browser that already decided answers at once, without a prompt.
    const answer = (await Notification.requestPermission()) as Permission;
    this.enabled = answer === 'granted';
    if (this.enabled) this.storage?.setItem(KEY, 'on');
    return this.enabled;
  }

  disable(): void {
    this.enabled = false;
    this.storage?.removeItem(KEY);
  }

  /**
   * Shows one; a click brings this tab forward and runs `onClick` (open the conversation). Browsers
   * that allow notifications only from a service worker (Android Chrome: the constructor throws) get
   * it from the app's worker, whose click handler focuses the app and posts OPEN_FROM_NOTIFICATION
   * (onWorkerClick), or opens the conversation in a new window when no tab is left.
   */
  show(title: string, body: string, tag: string, conversationId: string, onClick: () => void): void {
    if (!this.enabled || permission() !== 'granted') return;
    try {
      const n = new Notification(title, { body, tag });
      n.onclick = () => {
        window.focus();
        onClick();
        n.close();
      };
    } catch {
      void this.worker()
        .then((registration) => registration?.showNotification(title, { body, tag, data: { conversation_id: conversationId } }))
        .catch(() => undefined);
    }
  }

  /** Runs `open` with the conversation of a worker notification the user clicked; returns the unsubscribe. */
  onWorkerClick(open: (conversationId: string) => void, target: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> | undefined = globalThis.navigator?.serviceWorker): () => void {
    if (!target) return () => undefined;
    const listener = (event: Event) => {
      const data = (event as MessageEvent).data as { type?: unknown; conversation_id?: unknown } | null;
      if (data?.type === OPEN_FROM_NOTIFICATION && typeof data.conversation_id === 'string') open(data.conversation_id);
    };
    target.addEventListener('message', listener);
    return () => target.removeEventListener('message', listener);
  }
}

function permission(): Permission | undefined {
  return typeof Notification === 'undefined' ? undefined : (Notification.permission as Permission);
}

async function serviceWorker(): Promise<WorkerNotifications | undefined> {
  if (typeof navigator === 'undefined' || !navigator.serviceWorker) return undefined;
  return (await navigator.serviceWorker.getRegistration()) ?? undefined;
}
