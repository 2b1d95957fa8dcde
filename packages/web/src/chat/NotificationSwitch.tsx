import { useState } from 'react';
import { useI18n } from '../ui/i18n.tsx';
import type { ChatStore } from './store.ts';

/** The opt-in for browser notifications: the browser is asked for permission only when this is turned on. */
export function NotificationSwitch({ store }: { store: ChatStore }) {
  const { t } = useI18n();
  const notifier = store.notifier;
  const [on, setOn] = useState(notifier.enabled);
  const [refused, setRefused] = useState(false);
  if (!notifier.supported) return null;
  return (
    <label className="check notify-switch" title={refused ? t('notify.blocked') : t('notify.hint')}>
      <input
        type="checkbox"
        data-testid="notify-switch"
        checked={on}
        onChange={async (e) => {
          if (!e.target.checked) {
            notifier.disable();
            setOn(false);
            return;
          }
          // On at once (the click is answered now), then back off if the browser or the person says no:
          // the permission prompt can take as long as the person takes to read it.
          setOn(true);
          const granted = await notifier.enable();
          setOn(granted);
          setRefused(!granted);
        }}
      />
      {t('notify.switch')}
      {refused && <span className="sr-only" role="status">{t('notify.blocked')}</span>}
    </label>
  );
}
