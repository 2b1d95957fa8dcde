import { useEffect, useState } from 'react';
import { errorText } from '../api.ts';

/** Loads with the console client and shows loading and errors the same way on every page. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    load().then((d) => live && (setData(d), setError(undefined)), (err: unknown) => live && setError(errorText(err)));
    return () => {
      live = false;
    };
    // The caller lists what the load depends on.
  }, [...deps, n]);
  return { data, error, reload: () => setN((x) => x + 1) };
}
