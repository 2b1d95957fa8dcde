// Warbler with the upstream fixture behind it as an OpenAI provider: what
// every client conformance test points its unmodified client at.
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import type { LedgerRow } from '../../src/store/index.ts';
import { startServer, type StoreKind, type TestServer } from '../harness.ts';

export interface GatewayUnderTest {
  upstream: UpstreamFixture;
  server: TestServer;
  /** The base URL an OpenAI client takes: http://127.0.0.1:<port>/v1. */
  baseURL: string;
  /** A fresh virtual key's secret and id. */
  newKey(fields?: Record<string, unknown>): Promise<{ id: string; secret: string }>;
  /** The chat-completions bodies the fixture received, oldest first. */
  chatBodies(): any[];
  ledger(keyId: string): Promise<LedgerRow[]>;
  stop(): Promise<void>;
}

export async function startGatewayUnderTest(kind: StoreKind, env: Record<string, string> = {}): Promise<GatewayUnderTest> {
  const upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
  const server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, ...env });
  return {
    upstream,
    server,
    baseURL: `${server.url}/v1`,
    async newKey(fields = {}) {
      const res = await server.api('POST', '/api/gateway/keys', { name: `client ${Math.random().toString(36).slice(2, 7)}`, ...fields });
      if (res.status !== 201) throw new Error(`key create failed: ${JSON.stringify(res.body)}`);
      return { id: res.body.key.id as string, secret: res.body.secret as string };
    },
    chatBodies: () => upstream.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body),
    async ledger(keyId) {
      await server.warbler.ledger.flush();
      return server.warbler.store.listLedger('default', { key_id: keyId, limit: 100 });
    },
    async stop() {
      await server.stop();
      await upstream.close();
    },
  };
}
