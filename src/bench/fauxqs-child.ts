/**
 * fauxqs (the S3-compatible test server) in a child process on 127.0.0.1, for bench children: its
 * in-memory objects and its CPU must not count as the measured process's.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Starts fauxqs and creates `bucket` in it (credentials: any, e.g. bench/bench). */
export async function startFauxqsChild(bucket: string): Promise<{ endpoint: string; stop: () => void }> {
  const script = `import('fauxqs').then(async ({ buildApp }) => { const app = buildApp({ logger: false }); const url = await app.listen({ port: 0, host: '127.0.0.1' }); process.stdout.write(url + '\\n'); });`;
  const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: here });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('\n')) resolve(new URL(out.trim()).origin);
    });
    child.on('exit', (code) => reject(new Error(`fauxqs exited ${code}`)));
  });
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const admin = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  return { endpoint, stop: () => child.kill() };
}
