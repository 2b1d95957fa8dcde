import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { UserTokens } from './auth/tokens.ts';
import { Conversations, MemberDirectory, Messages } from './chat/index.ts';
import type { Config } from './config.ts';
import { Files } from './files/index.ts';
import { buildHttp, Guards } from './http/index.ts';
import { Hub, LocalBroker, RealtimeGateway, type Broker } from './realtime/index.ts';
import { openStore, type Store } from './store/index.ts';
import { Apps, Authenticator, loadMasterKey, Users } from './tenancy/index.ts';

export const VERSION = '0.1.0';

export interface Warbler {
  config: Config;
  store: Store;
  http: FastifyInstance;
  realtime: RealtimeGateway;
  apps: Apps;
  users: Users;
  conversations: Conversations;
  messages: Messages;
  masterKey: string;
  masterKeyFile: string | undefined;
  defaultApp: { appId: string; secretFile: string; created: boolean };
  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful stop: refuse new work, tell sockets to reconnect elsewhere, finish in-flight requests, close the store. */
  close(): Promise<void>;
}

/** The composition root: builds every room from config and wires them together. Nothing else knows them all. */
export async function buildWarbler(config: Config, options: { broker?: Broker } = {}): Promise<Warbler> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await store.migrate();
  const master = await loadMasterKey(config.masterKey, config.dataDir);
  const broker = options.broker ?? new LocalBroker();
  const publish = broker.publish.bind(broker);

  const tokens = new UserTokens(master.key);
  const directory = new MemberDirectory(store);
  const conversations = new Conversations(store, directory, publish);
  const messages = new Messages(store, conversations, publish);
  const apps = new Apps(store);
  const users = new Users(store, tokens, publish);
  const auth = new Authenticator(store, tokens, master.key);
  const files = new Files(store, conversations, path.join(config.dataDir, 'files'), config.maxUploadBytes);
  const defaultApp = await apps.ensureDefault(config.dataDir);

  let ready = false;
  const http = await buildHttp(
    { guards: new Guards(auth), apps, users, conversations, messages, files, isReady: () => ready },
    { logLevel: config.logLevel, version: VERSION },
  );
  const logError = (err: unknown) => http.log.error({ err }, 'realtime error');
  const hub = new Hub(broker, directory, logError);
  const realtime = new RealtimeGateway(hub, messages, auth, { ...config.ws, heartbeatMs: config.ws.heartbeatMs }, logError);
  realtime.attach(http.server);

  let closing: Promise<void> | undefined;
  return {
    config, store, http, realtime, apps, users, conversations, messages,
    masterKey: master.key, masterKeyFile: master.file, defaultApp,
    async listen() {
      await http.listen({ port: config.port, host: config.host });
      ready = true;
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      return `http://${host}:${port}`;
    },
    close() {
      closing ??= (async () => {
        ready = false;
        realtime.shutdown(1_000);
        hub.stop();
        await http.close();
        await broker.close();
        await store.close();
      })();
      return closing;
    },
  };
}
