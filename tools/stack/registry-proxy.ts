/**
 * HTTPS + basic auth in front of the local Apicurio registry. Apicurio 3 offers basic auth only as a
 * front for an OIDC server (Keycloak); a 100-line proxy started by the stack is the simpler and more
 * robust way to give tests a registry that refuses unauthenticated and plaintext clients, exactly as a
 * production registry behind an ingress does. The plain HTTP port stays for local work.
 *
 * Run by the stack as: node --import tsx tools/stack/registry-proxy.ts <marker args> --listen host:port
 *   --upstream http://host:port --cert file --key file --credentials file [--client-ca file]
 *
 * With a client CA it asks every client for a certificate: one signed by that CA is verified (the answer
 * says so in `x-client-certificate: verified`), one that is not is refused (403), and a client without one is
 * served on its basic auth alone (`x-client-certificate: none`), as a registry with optional mutual TLS does.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { TLSSocket } from 'node:tls';

export interface ProxyOptions {
  readonly host: string;
  readonly port: number;
  readonly upstream: URL;
  readonly cert: string;
  readonly key: string;
  readonly username: string;
  readonly password: string;
  /** PEM of the CA that signs client certificates: when set, each client is asked for one. */
  readonly clientCa?: string;
}

/** Connection-level headers (RFC 9110 7.6.1): they describe one hop and are never forwarded, either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** `headers` without the hop-by-hop ones, those named in its Connection header, and `drop`. */
export function endToEndHeaders(
  headers: http.IncomingHttpHeaders,
  drop: readonly string[] = [],
): http.OutgoingHttpHeaders {
  const named = (headers.connection ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (HOP_BY_HOP.has(name) || named.includes(name) || drop.includes(name) || value === undefined) continue;
    out[name] = value;
  }
  return out;
}

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/**
 * Constant-time check of an `Authorization: Basic …` header, so the password cannot be guessed by timing:
 * the SHA-256 digests are compared (always 32 bytes, so no early return on a length that differs).
 */
export function basicAuthMatches(header: string | undefined, username: string, password: string): boolean {
  const expected = Buffer.from(`Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
  return timingSafeEqual(sha256(Buffer.from(header ?? '')), sha256(expected));
}

export function startRegistryProxy(options: ProxyOptions): Promise<https.Server> {
  const server = https.createServer(
    {
      cert: options.cert,
      key: options.key,
      ...(options.clientCa ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
    },
    (req, res) => {
      const socket = req.socket;
      if (!(socket instanceof TLSSocket)) throw new Error('registry proxy: not a TLS connection');
      const presented = options.clientCa !== undefined && Object.keys(socket.getPeerCertificate()).length > 0;
      if (presented && !socket.authorized) {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error_code: 40301,
            message: `client certificate refused: ${String(socket.authorizationError)}`,
          }),
        );
        return;
      }
      if (!basicAuthMatches(req.headers.authorization, options.username, options.password)) {
        res.writeHead(401, {
          'www-authenticate': 'Basic realm="schema-registry"',
          'content-type': 'application/json',
        });
        res.end(JSON.stringify({ error_code: 40101, message: 'Unauthorized' }));
        return;
      }
      const upstream = http.request(
        {
          host: options.upstream.hostname,
          port: options.upstream.port,
          method: req.method,
          path: req.url,
          headers: endToEndHeaders(req.headers, ['authorization', 'host']),
          timeout: 30_000,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, {
            ...endToEndHeaders(answer.headers),
            ...(options.clientCa ? { 'x-client-certificate': presented ? 'verified' : 'none' } : {}),
          });
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
      // A client that goes away (aborted request, closed connection) cancels its upstream request.
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      req.pipe(upstream);
    },
  );
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
    ...(process.argv.includes('--client-ca') ? { clientCa: readFileSync(arg('client-ca'), 'utf8') } : {}),
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
