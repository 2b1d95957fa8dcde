// The audit room: an append-only, hash-chained log of administrative actions
// per app (who, when, from where, what changed), its verification and export.
export { AuditLog, publicEntry, type AuditAction, type AuditActorKind, type AuditVerification, type HeadBreak } from './audit-log.ts';
export { auditHeadSeed, HeadSigner, headPayload, type SignedHead } from './head-signature.ts';
export { AuditStore, type AuditFilter, type AuditRow } from './audit-store.ts';
export { entryHash, GENESIS_HASH, verifyChain } from './chain.ts';
export { lastFour, maskForAudit } from './mask.ts';
export { routeAction, type RouteAction } from './route-actions.ts';
