/** What the list needs of a conversation to order it and count it in the tab title. */
export interface Listed {
  last_activity: number;
  unread: number;
  /** The user's own pin and mute; absent in lists cached by an older version of the app (read as false). */
  pinned?: boolean;
  muted?: boolean;
}

/** Pinned conversations first, each group by latest activity (as Telegram and WeChat list them). */
export function sortConversations<T extends Listed>(list: Iterable<T>): T[] {
  return [...list].sort((a, b) => Number(b.pinned ?? false) - Number(a.pinned ?? false) || b.last_activity - a.last_activity);
}

/** The unread count the tab title shows: muted conversations are left out (their badge is shown grey instead). */
export function unreadForTitle(list: Iterable<Listed>): number {
  let sum = 0;
  for (const c of list) if (!c.muted) sum += c.unread;
  return sum;
}
