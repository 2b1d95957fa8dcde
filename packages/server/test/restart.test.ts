import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWarbler } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

describe('a restart after a crash', () => {
  it('fails replies that were left streaming, keeping their saved text, so no message streams forever', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-restart-'));
    const config = loadConfig({ WARBLER_PORT: '0', WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: dataDir, WARBLER_MASTER_KEY: 'restart-test-master-key-1', WARBLER_LOG_LEVEL: 'silent' });
    try {
      const first = await buildWarbler(config);
      const alice = await first.users.create('default', { id: 'alice', name: 'Alice' });
      const { conversation } = await first.conversations.create({ appId: 'default' }, { kind: 'direct', member_ids: [alice.id, 'warbler-assistant'] });
      // What a crash leaves behind: a reply stored as streaming that no process is writing any more.
      const { message } = await first.messages.append({ appId: 'default' }, {
        conversation_id: conversation.id, sender_id: 'warbler-assistant', client_msg_id: null, type: 'text', state: 'streaming', content: { text: 'Half an ans' },
      });
      await first.close();

      const second = await buildWarbler(config);
      const after = await second.store.getMessage('default', message.id);
      expect(after).toMatchObject({ state: 'failed', content: { text: 'Half an ans', error: { code: 'interrupted' } } });
      await second.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
