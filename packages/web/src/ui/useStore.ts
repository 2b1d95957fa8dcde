import { useSyncExternalStore } from 'react';

/** Re-renders when the store says it changed; components then read the store directly. */
export function useStore(store: { subscribe: (l: () => void) => () => void; snapshot: () => number }): number {
  return useSyncExternalStore(store.subscribe, store.snapshot);
}
