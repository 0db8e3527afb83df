/**
 * HTTPS + basic auth in front of the local Apicurio registry. Apicurio 3 offers basic auth only as a
 * front for an OIDC server (Keycloak); a 100-line proxy started by the stack is the simpler and more
 * robust way to give tests a registry that refuses unauthenticated and plaintext clients, exactly as a
 * production registry behind an ingress does. The plain HTTP port stays for local work.
 *
 * Run by the stack as: node --import tsx tools/stack/registry-proxy.ts <marker args> --listen host:port
 *   --upstream http://host:port --cert file --key file --credentials file
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface ProxyOptions {
  readonly host: string;
  readonly port: number;
  readonly upstream: URL;
  readonly cert: string;
  readonly key: string;
  readonly username: string;
  readonly password: string;
}

/** Constant-time check of an `Authorization: Basic …` header, so the password cannot be guessed by timing. */
export function basicAuthMatches(header: string | undefined, username: string, password: string): boolean {
  const expected = Buffer.from(`Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function startRegistryProxy(options: ProxyOptions): Promise<https.Server> {
  const server = https.createServer({ cert: options.cert, key: options.key }, (req, res) => {
    if (!basicAuthMatches(req.headers.authorization, options.username, options.password)) {
      res.writeHead(401, {
        'www-authenticate': 'Basic realm="schema-registry"',
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ error_code: 40101, message: 'Unauthorized' }));
      return;
    }
    const { authorization: _dropped, host: _host, ...headers } = req.headers;
    const upstream = http.request(
      {
        host: options.upstream.hostname,
        port: options.upstream.port,
        method: req.method,
        path: req.url,
        headers,
        timeout: 30_000,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timed out')));
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 50201, message: `registry unreachable: ${error.message}` }));
    });
    req.pipe(upstream);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => resolve(server));
  });
}

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (value === undefined) throw new Error(`registry-proxy: --${name} is required`);
  return value;
}

if (process.argv.includes('--listen')) {
  const [host = '127.0.0.1', port = ''] = arg('listen').split(':');
  const credentials = JSON.parse(readFileSync(arg('credentials'), 'utf8')) as {
    registry: { username: string; password: string };
  };
  const server = await startRegistryProxy({
    host,
    port: Number(port),
    upstream: new URL(arg('upstream')),
    cert: readFileSync(arg('cert'), 'utf8'),
    key: readFileSync(arg('key'), 'utf8'),
    ...credentials.registry,
  });
  console.log(`${new Date().toISOString()} registry proxy: https://${host}:${port} -> ${arg('upstream')}`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.close();
      server.closeAllConnections();
    });
  }
}
