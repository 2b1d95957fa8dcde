// Tool header values (Authorization: Bearer …, X-Api-Key) are secrets of the
// app's backend: stored sealed with the secret box, so a database copy does
// not hand them out, and shown masked ("••••1234"), so the REST API and the
// console never do either. An edit that sends a masked value back keeps the
// stored secret, so a form can round-trip an agent without knowing it.
import { badRequest } from '../errors.ts';
import { maskSecret, SecretBoxError, type SecretBox } from '../llm/index.ts';
import type { AgentTool } from './definition.ts';

const SEALED = /^wsb1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MASKED = /^••••.{0,4}$/u;

/** Whether a header value is a masked view of a stored secret rather than a new value. */
export const isMasked = (value: string): boolean => MASKED.test(value);

/** The tools with every header value masked: what clients see. */
export function maskToolHeaders(tools: AgentTool[]): AgentTool[] {
  return tools.map((t) => ({ ...t, headers: Object.fromEntries(Object.entries(t.headers).map(([h, v]) => [h, maskSecret(v)])) }));
}

/**
 * Replaces masked header values sent back by a client with the secrets
 * stored for the same tool (by name) and header; refuses a masked value that
 * matches no stored secret, since sending it on would break the tool quietly.
 */
export function keepStoredSecrets(tools: AgentTool[], stored: AgentTool[]): AgentTool[] {
  return tools.map((tool, i) => {
    const before = stored.find((t) => t.name === tool.name);
    const headers = Object.fromEntries(Object.entries(tool.headers).map(([h, v]) => {
      if (!isMasked(v)) return [h, v];
      const kept = before && Object.entries(before.headers).find(([name]) => name.toLowerCase() === h.toLowerCase())?.[1];
      if (kept === undefined || maskSecret(kept) !== v) {
        throw badRequest(`Invalid agent: tools[${i}].headers.${h}: "${v}" is how Warbler shows a stored secret, and tool "${tool.name}" has none that matches. Send the header's value itself.`);
      }
      return [h, kept];
    }));
    return { ...tool, headers };
  });
}

export class ToolSecrets {
  constructor(
    private readonly box: SecretBox,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  /** The tools as stored: every header value sealed to its app, agent, tool and header. */
  seal(appId: string, agentId: string, tools: AgentTool[]): AgentTool[] {
    return tools.map((t) => ({
      ...t,
      headers: Object.fromEntries(Object.entries(t.headers).map(([h, v]) => [h, this.box.seal(v, context(appId, agentId, t.name, h))])),
    }));
  }

  /**
   * The tools with their header values opened. Values stored before sealing
   * existed are plain text and come back as they are (`legacy` says so, for
   * sealing them on the spot). A value that cannot be opened (another master
   * key) becomes empty, so the tool fails visibly instead of the agent.
   */
  open(appId: string, agentId: string, tools: AgentTool[]): { tools: AgentTool[]; legacy: boolean } {
    let legacy = false;
    const opened = tools.map((t) => ({
      ...t,
      headers: Object.fromEntries(Object.entries(t.headers).map(([h, v]) => {
        if (!SEALED.test(v)) {
          legacy = true;
          return [h, v];
        }
        try {
          return [h, this.box.open(v, context(appId, agentId, t.name, h))];
        } catch (err) {
          if (!(err instanceof SecretBoxError)) throw err;
          this.warn(`agent ${agentId} (app ${appId}): header ${h} of tool ${t.name} cannot be opened (${err.message}); enter it again`);
          return [h, ''];
        }
      })),
    }));
    return { tools: opened, legacy };
  }
}

const context = (appId: string, agentId: string, tool: string, header: string) => `${appId}/${agentId}/tools/${tool}/${header.toLowerCase()}`;
