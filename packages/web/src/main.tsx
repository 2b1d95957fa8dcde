import { lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { ChatApp } from './chat/ChatApp.tsx';
import { I18nProvider } from './ui/i18n.tsx';
import './styles.css';

// The console is for operators only: people who chat never download it.
const ConsoleApp = lazy(() => import('./console/ConsoleApp.tsx'));

function App() {
  const inConsole = location.pathname === '/console' || location.pathname.startsWith('/console/');
  return (
    <I18nProvider>
      {inConsole ? (
        <Suspense fallback={<p className="loading">…</p>}>
          <ConsoleApp />
        </Suspense>
      ) : <ChatApp />}
    </I18nProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

// The app shell works offline once a service worker holds it (public/sw.js); browsers allow one on
// https and on localhost only, and a failure to register changes nothing else.
if ('serviceWorker' in navigator && window.isSecureContext) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js').catch(() => undefined);
  });
}
