import { describe, expect, it } from 'vitest';
import { routeAction } from './route-actions.ts';

describe('routeAction', () => {
  it('names administrative writes in the product\'s words', () => {
    expect(routeAction('POST', '/admin/apps')).toEqual({ resource: 'app', action: 'app.create', idParam: undefined });
    expect(routeAction('POST', '/admin/apps/:appId/secret')).toMatchObject({ resource: 'app_secret', action: 'app_secret.rotate' });
    expect(routeAction('PATCH', '/api/agents/:agentId')).toEqual({ resource: 'agent', action: 'agent.update', idParam: 'agentId' });
    expect(routeAction('DELETE', '/api/knowledge-bases/:kbId/documents/:documentId')).toMatchObject({ action: 'knowledge_document.delete', idParam: 'documentId' });
    expect(routeAction('POST', '/api/gateway/keys/:keyId/revoke')).toMatchObject({ action: 'gateway_key.revoke', idParam: 'keyId' });
    expect(routeAction('PATCH', '/api/conversations/:conversationId/members/:userId')).toMatchObject({ action: 'member.update', idParam: 'userId' });
    expect(routeAction('POST', '/api/users/:userId/tokens/revoke')).toMatchObject({ action: 'user_token.revoke' });
  });

  it('records a route nobody listed (a new one) rather than skipping it', () => {
    expect(routeAction('POST', '/api/webhooks/endpoints')).toMatchObject({ action: 'endpoint.create' });
  });

  it('leaves reads, chat and /v1 traffic to their own records', () => {
    expect(routeAction('GET', '/api/agents')).toBeUndefined();
    expect(routeAction('POST', '/api/conversations/:conversationId/messages')).toBeUndefined();
    expect(routeAction('POST', '/v1/chat/completions')).toBeUndefined();
    expect(routeAction('POST', '/api/users/:userId/tokens')).toBeUndefined();
    expect(routeAction('POST', '/api/support/conversations/:conversationId/notes')).toBeUndefined();
  });
});
