export { Apps, DEFAULT_APP_ID, loadMasterKey, type AppView } from './apps.ts';
export { Users, toUser, type CreateUserInput } from './users.ts';
export { Authenticator, bearer, type Principal } from './principal.ts';
