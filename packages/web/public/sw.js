// Warbler's app shell: the page and its hashed assets, so a reload without
// network shows the app (and, from localStorage, the chats it last showed)
// instead of the browser's error page. Everything else (the API, sockets,
// files, the gateway, the widget) goes to the network untouched: this worker
// never answers for data, so it can never show a stale message as new.
const SHELL = 'warbler-shell-v1';
const PASS_THROUGH = /^\/(api|admin|v1|ws|widget|healthz|metrics|openapi\.json|docs)(\/|$)/;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    const page = await fetch('/', { cache: 'reload' });
    if (!page.ok) return;
    const html = await page.clone().text();
    await cache.put('/', page);
    // The assets the page names (hashed, immutable): their names change with every build.
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    await Promise.all(assets.map(async (url) => {
      const res = await fetch(url);
      if (res.ok) await cache.put(url, res);
    }));
  })().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== SHELL) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== location.origin || PASS_THROUGH.test(url.pathname)) return;
  if (request.mode === 'navigate') {
    // The network first (a deploy shows at once); the cached page when there is none.
    event.respondWith((async () => {
      try {
        const page = await fetch(request);
        if (page.ok && url.pathname === '/') (await caches.open(SHELL)).put('/', page.clone());
        return page;
      } catch {
        return (await caches.match('/')) ?? Response.error();
      }
    })());
    return;
  }
  if (url.pathname.startsWith('/assets/')) {
    // Hashed names never change content: the cache first, and whatever the network brings is kept.
    event.respondWith((async () => {
      const hit = await caches.match(request);
      if (hit) return hit;
      const res = await fetch(request);
      if (res.ok) (await caches.open(SHELL)).put(request, res.clone());
      return res;
    })());
  }
});

// Notifications shown through this worker (browsers that allow no other kind, such as Chrome on
// Android: web/src/chat/notifications.ts): a click focuses an open tab of the app and tells it which
// conversation to open, or opens the conversation in a new window when no tab is left.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const conversationId = event.notification.data?.conversation_id;
  if (typeof conversationId !== 'string') return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows.find((w) => new URL(w.url).pathname === '/') ?? windows[0];
    if (open) {
      // Told first: focus() is refused without the tap's user activation, and the chat should open regardless.
      open.postMessage({ type: 'warbler.notification.open', conversation_id: conversationId });
      await open.focus().catch(() => undefined);
      return;
    }
    await self.clients.openWindow(`/?c=${encodeURIComponent(conversationId)}`);
  })());
});
