// Several nodes on one database: which are alive, and which work each holds.
export { NodePresence, type PresenceStore } from './presence.ts';
