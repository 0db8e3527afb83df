/**
 * The stack's registry proxy (hop-by-hop headers, cancelled requests, client certificates verified against
 * the stack's CA) and hostname verification of the app's TLS clients, on certificates made the way the
 * stack makes them, in a temporary folder: no running stack needed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { tlsPreflight } from '../../src/adapters/kafka/broker-access.js';
import { registryReachable } from '../../src/adapters/registry/registry-probe.js';
import { startRegistryProxy } from '../../tools/stack/registry-proxy.js';
import { ensureCertificates, issueCertificate, securePaths } from '../../tools/stack/secure.js';
import { waitUntil } from '../helpers/wait.js';

const root = mkdtempSync(path.join(tmpdir(), 'kos-proxy-tls-'));
const ours = securePaths({ stateDir: path.join(root, 'ours') });
const foreign = securePaths({ stateDir: path.join(root, 'foreign') });
const USER = 'kos-registry-client';
const PASSWORD = 'proxy-test-password';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

let upstream: http.Server;
let proxy: https.Server;
let proxyPort: number;
/** What the upstream registry received, and the requests it is holding (path /hold never answers). */
const received: http.IncomingHttpHeaders[] = [];
const held: http.IncomingMessage[] = [];
let heldClosed = 0;

const pem = (file: string) => readFileSync(file, 'utf8');
const listening = (server: http.Server | https.Server | tls.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

before(async () => {
  ensureCertificates(ours);
  ensureCertificates(foreign);
  upstream = http.createServer((req, res) => {
    received.push(req.headers);
    if (req.url === '/hold') {
      held.push(req);
      res.on('close', () => (heldClosed += 1));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', connection: 'x-hop', 'x-hop': 'upstream-only' });
    res.end('[]');
  });
  const upstreamPort = await listening(upstream);
  proxy = await startRegistryProxy({
    host: '127.0.0.1',
    port: 0,
    upstream: new URL(`http://127.0.0.1:${upstreamPort}`),
    cert: pem(ours.proxyCert),
    key: pem(ours.proxyKey),
    username: USER,
    password: PASSWORD,
    clientCa: pem(ours.caCert),
  });
  proxyPort = (proxy.address() as AddressInfo).port;
});

after(() => {
  proxy.closeAllConnections();
  proxy.close();
  upstream.closeAllConnections();
  upstream.close();
  rmSync(root, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(
  pathname: string,
  options: { headers?: Record<string, string>; cert?: string; key?: string; signal?: AbortSignal } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: proxyPort,
        path: pathname,
        ca: pem(ours.caCert),
        headers: { authorization: AUTH, ...options.headers },
        agent: false,
        ...(options.cert ? { cert: options.cert, key: options.key } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the registry proxy', () => {
  it('when a client presents a certificate of the stack CA, then it is verified; none: basic auth alone; another CA: refused', async () => {
    const withCert = await get('/subjects', { cert: pem(ours.clientCert), key: pem(ours.clientKey) });
    assert.equal(withCert.status, 200);
    assert.equal(withCert.headers['x-client-certificate'], 'verified');
    const without = await get('/subjects');
    assert.equal(without.status, 200);
    assert.equal(without.headers['x-client-certificate'], 'none');
    const other = await get('/subjects', { cert: pem(foreign.clientCert), key: pem(foreign.clientKey) });
    assert.equal(other.status, 403, other.body);
    assert.match(other.body, /client certificate refused/);
    const wrongPassword = await get('/subjects', {
      headers: { authorization: `Basic ${Buffer.from(`${USER}:nope`).toString('base64')}` },
    });
    assert.equal(wrongPassword.status, 401);
  });

  it('when hop-by-hop headers come either way, then none is forwarded, nor the Authorization header', async () => {
    received.length = 0;
    const answer = await get('/subjects', {
      headers: {
        connection: 'x-private',
        'x-private': 'client-only',
        'proxy-authorization': 'Basic abc',
        te: 'trailers',
        'x-end-to-end': 'kept',
      },
    });
    assert.equal(answer.status, 200);
    const [headers] = received;
    assert.ok(headers);
    assert.equal(headers['x-end-to-end'], 'kept');
    for (const name of ['x-private', 'proxy-authorization', 'te', 'authorization'])
      assert.equal(headers[name], undefined, `${name} forwarded`);
    assert.equal(answer.headers['x-hop'], undefined, 'a header the upstream named in Connection came back');
  });

  it('when the client aborts, then the upstream request is cancelled', async () => {
    const before = heldClosed;
    const controller = new AbortController();
    const pending = get('/hold', { signal: controller.signal }).catch((error: unknown) => error);
    await waitUntil('the upstream to hold the request', () => held.length > 0, 10_000, 20);
    controller.abort();
    assert.ok((await pending) instanceof Error);
    await waitUntil('the upstream request to be cancelled', () => heldClosed > before, 10_000, 20);
  });
});

describe('hostname verification', () => {
  let server: tls.Server;
  let port: number;

  before(async () => {
    // Signed by the trusted CA, but for another host: only the name check can refuse it.
    const key = path.join(ours.dir, 'wrong-host.key');
    const cert = path.join(ours.dir, 'wrong-host.pem');
    issueCertificate(ours, key, cert, '/CN=wrong.example', 'DNS:wrong.example');
    server = https.createServer({ key: pem(key), cert: pem(cert) }, (_req, res) => res.end('[]'));
    port = await listening(server);
  });

  after(() => {
    server.close();
  });

  it("when a broker's certificate is for another host, then the TLS check refuses it naming the host", async () => {
    const refusal = await tlsPreflight({
      brokers: [`127.0.0.1:${port}`],
      tls: true,
      tlsCaFile: ours.caCert,
      saslMechanism: 'scram-sha-512',
      saslUsername: 'kos-consumer',
    });
    assert.equal(refusal?.code, 'KOS_BROKER_TLS');
    assert.match(refusal.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(refusal.message, /does not name 127\.0\.0\.1|altnames|IP: 127\.0\.0\.1/i);
  });

  it("when the registry's certificate is for another host, then the probe refuses it naming the host", async () => {
    await assert.rejects(
      registryReachable({
        schemaRegistryUrl: `https://127.0.0.1:${port}`,
        registryTimeoutMs: 3000,
        clientId: 'hostname-test',
        schemaRegistryCaFile: ours.caCert,
      }),
      (error: Error) => {
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        assert.match(error.message, /altnames|does not (match|name)|ERR_TLS_CERT_ALTNAME_INVALID/i);
        return true;
      },
    );
  });
});
