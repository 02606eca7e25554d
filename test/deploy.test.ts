/**
 * Static checks of the container image definition (no Docker engine runs on the build machines):
 * what it copies exists and is not ignored, it runs as a non-root user on Node 22 LTS, and its
 * command, port and health check agree with package.json and the default config.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { DockerfileParser } from 'dockerfile-ast';
import { defaultProbeTimeoutMs } from '../src/cli/probe.js';
import { isLoopback, loadConfig } from '../src/config/load.js';

const root = new URL('../', import.meta.url).pathname;
const dockerfile = DockerfileParser.parse(readFileSync(`${root}Dockerfile`, 'utf8'));
const instructions = dockerfile.getInstructions();
const stages = dockerfile.getFROMs();
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
const ignored = readFileSync(`${root}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const defaults = loadConfig({ env: {} });

/** The health-check entry point, as the image and the examples run it. */
const healthcheckScript = '/app/dist/cli/healthcheck.js';

/** The TypeScript source of a file under /app/dist (tsconfig: rootDir src, outDir dist). */
const sourceOf = (path: string): string => path.replace(/^\/app\/dist\//, 'src/').replace(/\.js$/, '.ts');

/**
 * The lines of a YAML block: the first line after `from` matching `header`, and the lines below it
 * indented deeper. Enough for the example's block style; there is no YAML parser in node_modules.
 */
function yamlBlock(lines: readonly string[], header: RegExp, from = 0): { start: number; lines: string[] } {
  const start = lines.findIndex((l, i) => i >= from && header.test(l));
  if (start < 0) throw new Error(`find YAML block: no line matches ${header}`);
  const indent = /^ */.exec(lines[start]!)![0].length;
  const body: string[] = [lines[start]!];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && /^ */.exec(line)![0].length <= indent && !line.trimStart().startsWith('#')) break;
    body.push(line);
  }
  return { start, lines: body };
}

/** The probe `name` of a container block: its type, exec command and timeout. */
function probeOf(container: readonly string[], name: string): { types: string[]; command: string[] | undefined; timeoutSeconds: number } {
  const probe = yamlBlock(container, new RegExp(`^\\s+${name}:\\s*$`)).lines.filter((l) => !l.trimStart().startsWith('#'));
  const types = probe.flatMap((l) => /^\s+(exec|httpGet|tcpSocket|grpc):/.exec(l)?.[1] ?? []);
  const command = /exec:\s*\{\s*command:\s*(\[.*\])\s*\}/.exec(probe.join('\n'))?.[1];
  return {
    types,
    command: command === undefined ? undefined : (JSON.parse(command) as string[]),
    timeoutSeconds: Number(/timeoutSeconds:\s*(\d+)/.exec(probe.join('\n'))?.[1] ?? 1), // Kubernetes' default is 1 s
  };
}

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

  it('exposes the default port and health-checks liveness with the entry point that reads the config', () => {
    expect(args('EXPOSE')).toEqual([String(defaults.server.port)]);
    const instruction = finalStage.find((i) => i.getKeyword() === 'HEALTHCHECK') as unknown as {
      getArgumentsContent(): string | null;
      getFlags(): { getName(): string; getValue(): string | null }[];
    };
    const command = /^CMD\s+(\[.*\])\s*$/s.exec(instruction.getArgumentsContent() ?? '');
    expect(command, instruction.getArgumentsContent() ?? '').not.toBeNull();
    // Liveness: no --ready, so an S3 outage does not make the container "unhealthy".
    expect(JSON.parse(command![1]!)).toEqual(['node', healthcheckScript]);
    expect(existsSync(`${root}${sourceOf(healthcheckScript)}`)).toBe(true);
    const timeout = instruction.getFlags().find((f) => f.getName() === 'timeout')?.getValue();
    expect(timeout).toMatch(/^\d+s$/);
    expect(Number.parseInt(timeout!, 10) * 1000).toBeGreaterThan(defaultProbeTimeoutMs);
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
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(yaml)![1]);
    expect(grace * 1000).toBeGreaterThan(c.shutdownTimeoutMs + 5000);

    // The kubelet sends httpGet and tcpSocket probes to the pod IP: with a loopback-only listener
    // they can never pass, so the probes must run the health check inside the container.
    const lines = yaml.split('\n');
    const container = yamlBlock(lines, /^\s+- name: logbarge\s*$/).lines;
    expect(container.join('\n')).toContain('value: /etc/logbarge/config.json'); // LOGBARGE_CONFIG, which the health check reads
    const liveness = probeOf(container, 'livenessProbe');
    const readiness = probeOf(container, 'readinessProbe');
    if (isLoopback(c.server.host)) {
      for (const probe of [liveness, readiness]) expect(probe.types).toEqual(['exec']);
      expect(container.join('\n')).not.toMatch(/containerPort:/);
    }
    expect(liveness.command).toEqual(['node', healthcheckScript]);
    // Readiness follows ingest only: an S3 outage must not take the application out of its Service.
    expect(readiness.command).toEqual(['node', healthcheckScript, '--ready', '--scope', 'ingest']);
    for (const probe of [liveness, readiness]) expect(probe.timeoutSeconds * 1000).toBeGreaterThan(defaultProbeTimeoutMs);
    expect(args('HEALTHCHECK')[0]).toContain(`"${healthcheckScript}"`); // the image ships what the probes run
  });
});
