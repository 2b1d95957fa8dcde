import { useEffect, useRef, useState } from 'react';
import { useI18n } from '../ui/i18n.tsx';

/**
 * A button for an action that cannot be undone: the first press asks, in
 * place, what will happen; only the second does it. Escape or Cancel backs out.
 */
export function ConfirmButton({ label, question, confirmLabel, onConfirm }: {
  label: string;
  /** What will happen, in words: "Delete the agent Tea Sommelier? Its messages stay." */
  question: string;
  confirmLabel?: string;
  onConfirm: () => void | Promise<void>;
}) {
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);

  if (!asking) return <button type="button" className="danger" onClick={() => setAsking(true)}>{label}</button>;
  return (
    <span className="confirm" role="group" aria-label={question} onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}>
      <span className="confirm-question">{question}</span>
      <button
        ref={yes}
        type="button"
        className="danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {confirmLabel ?? label}
      </button>
      <button type="button" onClick={() => setAsking(false)}>{t('dialog.cancel')}</button>
    </span>
  );
}

/** Copies a value and says so; a browser that refuses the clipboard is told to copy by hand. */
export function CopyButton({ value, label }: { value: string; label?: string }) {
  const { t } = useI18n();
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return (
    <>
      <button type="button" onClick={() => void copy()}>{label ?? t('console.copy')}</button>
      <span role="status" aria-live="polite" className={state === 'failed' ? 'error-text' : 'ok-text'}>
        {state === 'copied' ? t('console.copied') : state === 'failed' ? t('console.copyFailed') : ''}
      </span>
    </>
  );
}
