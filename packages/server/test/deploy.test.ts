// deploy/ cannot run here (no Docker, no cluster): check that its files parse,
// hold together, and name only settings Warbler reads.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const deploy = fileURLToPath(new URL('../../../deploy/', import.meta.url));
const read = (file: string) => readFileSync(path.join(deploy, file), 'utf8');
const k8sFiles = readdirSync(path.join(deploy, 'k8s')).filter((f) => f.endsWith('.yaml'));

/** Every document of a YAML file, failing the test on any syntax error or warning. */
function documents(file: string): any[] {
  // Compose files use merge keys (<<:), a YAML 1.1 feature Compose supports.
  const docs = parseAllDocuments(read(file), { merge: true });
  for (const doc of docs) {
    expect(doc.errors.map((e) => e.message), file).toEqual([]);
    expect(doc.warnings.map((e) => e.message), file).toEqual([]);
  }
  return docs.map((d) => d.toJS({ maxAliasCount: 100 }));
}

const k8s = k8sFiles.flatMap((f) => documents(path.join('k8s', f)).map((doc) => ({ file: f, doc })));
const ofKind = (kind: string) => k8s.filter(({ doc }) => doc?.kind === kind).map(({ doc }) => doc);

describe('deploy/', () => {
  it('Kubernetes manifests parse and each names its apiVersion, kind and name', () => {
    expect(k8s.length).toBeGreaterThanOrEqual(7);
    for (const { file, doc } of k8s) {
      expect(typeof doc.apiVersion, file).toBe('string');
      expect(typeof doc.kind, file).toBe('string');
      if (doc.kind !== 'Kustomization') expect(doc.metadata?.name, file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    const listed = ofKind('Kustomization')[0].resources as string[];
    for (const resource of listed) expect(k8sFiles).toContain(resource);
  });

  it('the Deployment probes /healthz, runs as non-root, and gives shutdown more time than Warbler takes', () => {
    const [deployment] = ofKind('Deployment');
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe].httpGet.path, probe).toBe('/healthz');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    const config = ofKind('ConfigMap')[0].data;
    const preStop = Number(container.lifecycle.preStop.exec.command.at(-1));
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(config.WARBLER_SHUTDOWN_GRACE_MS) + preStop * 1000);
    const service = ofKind('Service')[0];
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    expect(container.ports.map((p: { name: string }) => p.name)).toContain(service.spec.ports[0].targetPort);
  });

  it('compose runs two nodes on one PostgreSQL and one Redis behind a load balancer that passes WebSockets', () => {
    const [compose] = documents('compose.yaml');
    const services = compose.services as Record<string, any>;
    const nodes = Object.entries(services).filter(([, s]) => s.build?.dockerfile === 'deploy/Dockerfile');
    expect(nodes.map(([name]) => name)).toEqual(['warbler-1', 'warbler-2']);
    for (const [, node] of nodes) {
      expect(node.environment.WARBLER_DATABASE_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//);
      expect(node.environment.WARBLER_REDIS_URL).toBe('redis://redis:6379');
      expect(node.volumes).toContain('warbler-data:/data');
      expect(parseDuration(node.stop_grace_period)).toBeGreaterThan(Number(node.environment.WARBLER_SHUTDOWN_GRACE_MS));
    }
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'redis', 'lb']));
    const nginx = read('nginx.conf');
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(nginx).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    for (const [name] of nodes) expect(nginx).toContain(`server ${name}:8080`);
  });

  it('the Dockerfile is multi-stage, builds the web app, and runs as a non-root user', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/RUN npm run build:web/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "--import", "tsx", "packages\/server\/src\/main.ts"\]$/m);
    // Everything copied from the build context exists in the repository.
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(?:--chown=\S+ )?(\S+)/gm)) expect(existsSync(path.join(deploy, '..', m[1]!)), m[1]).toBe(true);
  });

  it('names only settings Warbler reads', () => {
    const config = readFileSync(fileURLToPath(new URL('../src/config.ts', import.meta.url)), 'utf8');
    const files = ['Dockerfile', 'compose.yaml', ...k8sFiles.map((f) => path.join('k8s', f))];
    for (const file of files) {
      for (const [name] of read(file).matchAll(/WARBLER_[A-Z_]+/g)) expect(config, `${file}: ${name}`).toContain(`${name}:`);
    }
  });
});

function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  return Number(m[1]) * ({ ms: 1, s: 1_000, m: 60_000 } as const)[m[2] as 'ms' | 's' | 'm'];
}
