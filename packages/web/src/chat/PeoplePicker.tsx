import { useEffect, useState, type FormEvent } from 'react';
import { errorText } from '../api.ts';
import { Dialog } from '../ui/Dialog.tsx';
import { useI18n } from '../ui/i18n.tsx';
import { Avatar } from './Avatar.tsx';
import type { ChatStore, Person } from './store.ts';

/** Search people and agents; pick one (a direct chat) or several (a group, or members to add). */
export function PeoplePicker({ store, mode, exclude = [], onClose, onPicked }: {
  store: ChatStore;
  mode: 'direct' | 'group' | 'add';
  exclude?: string[];
  onClose: () => void;
  onPicked: (ids: string[], title: string) => Promise<void>;
}) {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Person[]>([]);
  const [picked, setPicked] = useState<Person[]>([]);
  const [title, setTitle] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      store.searchPeople(q).then((people) => live && setFound(people.filter((p) => !exclude.includes(p.id))), (err: unknown) => live && setError(errorText(err)));
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  // `exclude` is a new array on every render: searching again for it would loop.
  }, [q, store]);

  const finish = async (ids: string[]) => {
    if (busy || ids.length === 0) return;
    setBusy(true);
    try {
      await onPicked(ids, title.trim());
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  const toggle = (p: Person) => setPicked((list) => (list.some((x) => x.id === p.id) ? list.filter((x) => x.id !== p.id) : [...list, p]));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void finish(picked.map((p) => p.id));
  };
  const heading = mode === 'direct' ? t('new.title') : mode === 'group' ? t('new.groupTitle') : t('conv.addMembers');

  return (
    <Dialog title={heading} onClose={onClose}>
      <form onSubmit={submit} className="picker">
        {mode === 'group' && (
          <label className="field">
            <span>{t('new.groupName')}</span>
            <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} />
          </label>
        )}
        <label className="field">
          <span>{t('new.search')}</span>
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} autoFocus={mode !== 'group'} />
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <ul className="people" aria-label={t('new.search')}>
          {found.length === 0 && <li className="hint">{t('new.noResults')}</li>}
          {found.map((p) => {
            const label = `${p.name} · ${p.kind === 'agent' ? t('new.agent') : t('new.person')}`;
            return (
              <li key={p.id}>
                {mode === 'direct' ? (
                  <button type="button" className="person" onClick={() => void finish([p.id])} disabled={busy} aria-label={label}>
                    <Avatar name={p.name} agent={p.kind === 'agent'} small />
                    <span>{p.name}</span>
                    <span className="tag">{p.kind === 'agent' ? t('new.agent') : t('new.person')}</span>
                  </button>
                ) : (
                  <label className="person">
                    <input type="checkbox" checked={picked.some((x) => x.id === p.id)} onChange={() => toggle(p)} aria-label={label} />
                    <Avatar name={p.name} agent={p.kind === 'agent'} small />
                    <span>{p.name}</span>
                    <span className="tag">{p.kind === 'agent' ? t('new.agent') : t('new.person')}</span>
                  </label>
                )}
              </li>
            );
          })}
        </ul>
        {mode !== 'direct' && (
          <div className="actions">
            <span className="hint">{picked.map((p) => p.name).join(', ')}</span>
            <button type="submit" className="primary" disabled={busy || picked.length === 0}>{mode === 'group' ? t('new.create') : t('conv.add')}</button>
          </div>
        )}
      </form>
    </Dialog>
  );
}
