/**
 * Static checks of the container image definition (no Docker engine runs on the build machines):
 * what it copies exists and is not ignored, it runs as a non-root user on Node 22 LTS, and its
 * command, port and health check agree with package.json and the default config.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { DockerfileParser } from 'dockerfile-ast';
import { loadConfig } from '../src/config/load.js';

const root = new URL('../', import.meta.url).pathname;
const dockerfile = DockerfileParser.parse(readFileSync(`${root}Dockerfile`, 'utf8'));
const instructions = dockerfile.getInstructions();
const stages = dockerfile.getFROMs();
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
const ignored = readFileSync(`${root}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const defaults = loadConfig({ env: {} });

/** Instructions of the final stage. */
const finalStage = instructions.filter((i) => i.getRange().start.line >= stages[stages.length - 1]!.getRange().start.line);
const args = (keyword: string) => finalStage.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '');

describe('Dockerfile', () => {
  it('is multi-stage on Node 22 LTS', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const from of stages) expect(from.getImageName()).toBe('node');
    for (const from of stages) expect(from.getImageTag()).toMatch(/^22(-|$)/);
    expect(stages[0]!.getBuildStage()).toBe('build');
  });

  it('copies only files that exist and that .dockerignore does not exclude', () => {
    const sources = instructions
      .filter((i) => i.getKeyword() === 'COPY' && !(i as unknown as { getFromFlag(): unknown }).getFromFlag())
      .flatMap((i) => (i.getArgumentsContent() ?? '').split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(`${root}${source}`), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
    for (const needed of ['node_modules', 'dist', 'data', '.git']) expect(ignored).toContain(needed);
  });

  it('ships what the runtime reads: dist, schemas, migrations, package.json, production node_modules', () => {
    const copied = args('COPY').join('\n');
    for (const path of ['/app/dist', '/app/schemas', '/app/migrations', '/app/package.json', '/app/node_modules']) expect(copied).toContain(path);
    const build = instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '').join('\n');
    expect(build).toContain('npm ci');
    expect(build).toContain('npm run build');
    expect(pkg.scripts.build).toBeDefined();
    expect(build).toContain('npm prune --omit=dev');
  });

  it('runs as a non-root user with a volume for the spool', () => {
    expect(args('USER')).toEqual(['node']);
    expect(args('VOLUME').join()).toContain('/var/lib/logbarge');
    expect(args('WORKDIR').at(-1)).toBe('/var/lib/logbarge'); // ./data/spool.db lands on the volume
  });

  it('starts the same command as npm start, in exec form so SIGTERM reaches node', () => {
    const cmd = JSON.parse(args('CMD')[0]!) as string[];
    expect(cmd[0]).toBe('node');
    const start = pkg.scripts.start!.split(' ');
    expect(cmd.slice(1).map((a) => a.replace('/app/', ''))).toEqual(start.slice(1));
    expect(pkg.bin.logbarge).toBe(start[1]);
    expect(args('STOPSIGNAL')).toEqual(['SIGTERM']);
  });

  it('exposes the default port and health-checks /healthz on it', () => {
    expect(args('EXPOSE')).toEqual([String(defaults.server.port)]);
    const healthcheck = args('HEALTHCHECK')[0]!;
    expect(healthcheck).toContain(`http://127.0.0.1:${defaults.server.port}/healthz`);
  });
});

describe('examples', () => {
  it('the compose config is valid', () => {
    const c = loadConfig({ path: `${root}examples/compose/logbarge.json`, env: { LOGBARGE_API_KEY: 'k' } });
    expect(c.s3.endpoint).toBe('http://minio:9000');
    expect(c.exports.map((e) => e.destination)).toEqual(['s3://audit/airkit/parquet/', 's3://audit/airkit/ndjson/']);
  });

  it('the Kubernetes ConfigMap holds a valid config, and the probes and grace period fit it', async () => {
    const yaml = readFileSync(`${root}examples/kubernetes/sidecar.yaml`, 'utf8');
    const block = /config\.json: \|\n((?: {4}.*\n)+)/.exec(yaml)![1]!.replace(/^ {4}/gm, '');
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const path = `${mkdtempSync('/tmp/logbarge-k8s-')}/config.json`;
    writeFileSync(path, block);
    const c = loadConfig({ path, env: { POD_NAME: 'audit-app-0', KMS_KEY_ARN: 'arn:aws:kms:us-east-1:1:key/x' } });
    expect(c.writerId).toBe('audit-app-0');
    expect(c.server.host).toBe('127.0.0.1');
    expect(yaml).toContain('path: /healthz');
    expect(yaml).toContain('path: /readyz');
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(yaml)![1]);
    expect(grace * 1000).toBeGreaterThan(c.shutdownTimeoutMs + 5000);
    expect(yaml).toContain(`containerPort: ${c.server.port}`);
  });
});
