// The privacy room: a user's data on request (export, erasure) and retention
// policies with their background enforcement.
export { PrivacyStore } from './privacy-store.ts';
export { Retention, type RetentionDeps } from './retention.ts';
export { UserData, type UserDataDeps } from './user-data.ts';
