/**
 * The secured side of the local stack: a SASL_SSL listener (SCRAM-SHA-512) beside PLAINTEXT, one SCRAM
 * user per process with least-privilege ACLs, and the registry behind an HTTPS + basic-auth proxy.
 * Certificates and passwords are generated once per state folder, into `<state>/secure/` (git-ignored,
 * mode 0600), and wiped with it. Nothing here is a secret worth more than the local data it guards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { withJavaArgFile } from './java-argfile.js';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StackConfig, StackPaths } from './config.js';
import { StackError } from './errors.js';
import type { JavaInstall } from './java.js';

export const SCRAM_MECHANISM = 'SCRAM-SHA-512';

/** The principals of the secured listener: one per process, so each gets only its own ACLs. */
export const SECURE_USERS = {
  producer: 'kos-producer',
  consumer: 'kos-consumer',
} as const;
export type SecureRole = keyof typeof SECURE_USERS;

export interface SecureCredentials {
  readonly users: Readonly<Record<SecureRole, { readonly username: string; readonly password: string }>>;
  /** Basic-auth user of the registry's HTTPS proxy. */
  readonly registry: { readonly username: string; readonly password: string };
}

export function securePaths(paths: Pick<StackPaths, 'stateDir'>) {
  const dir = path.join(paths.stateDir, 'secure');
  return {
    dir,
    credentialsFile: path.join(dir, 'credentials.json'),
    caKey: path.join(dir, 'ca.key'),
    /** The CA that signed both server certificates: what a client trusts (KAFKA_TLS_CA_FILE, SCHEMA_REGISTRY_CA_FILE). */
    caCert: path.join(dir, 'ca.pem'),
    brokerKey: path.join(dir, 'broker.key'),
    brokerCert: path.join(dir, 'broker.pem'),
    /** Private key (PKCS#8, unencrypted) followed by the certificate: Kafka's PEM keystore format. */
    brokerKeystore: path.join(dir, 'broker-keystore.pem'),
    proxyKey: path.join(dir, 'registry.key'),
    proxyCert: path.join(dir, 'registry.pem'),
    /** A client certificate signed by the same CA, for the registry client's mutual-TLS settings. */
    clientKey: path.join(dir, 'client.key'),
    clientCert: path.join(dir, 'client.pem'),
    /** Hash of the SCRAM credentials last written to the broker, so they are written once per change. */
    scramMarker: path.join(dir, 'scram.sha256'),
  };
}
export type SecurePaths = ReturnType<typeof securePaths>;

const password = (): string => randomBytes(18).toString('base64url');

/** Generated once, then read back: the broker's SCRAM store and the proxy must see the same passwords. */
export function ensureCredentials(secure: SecurePaths): SecureCredentials {
  if (existsSync(secure.credentialsFile)) {
    return JSON.parse(readFileSync(secure.credentialsFile, 'utf8')) as SecureCredentials;
  }
  const credentials: SecureCredentials = {
    users: {
      producer: { username: SECURE_USERS.producer, password: password() },
      consumer: { username: SECURE_USERS.consumer, password: password() },
    },
    registry: { username: 'kos-registry-client', password: password() },
  };
  mkdirSync(secure.dir, { recursive: true, mode: 0o700 });
  writeFileSync(secure.credentialsFile, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return credentials;
}

function openssl(args: readonly string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new StackError(
      `openssl ${args[0] ?? ''} failed: ${result.error?.message ?? result.stderr.trim()}`,
      'The secured listener needs the openssl command (Debian: apt-get install openssl).',
    );
  }
}

/** A key and a certificate for `host` signed by the stack's CA, valid for 10 years (local use only). */
export function issueCertificate(
  secure: SecurePaths,
  key: string,
  cert: string,
  subject: string,
  san: string | undefined,
): void {
  const csr = `${cert}.csr`;
  const ext = `${cert}.ext`;
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], secure.dir);
  openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr], secure.dir);
  writeFileSync(
    ext,
    san ? `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n` : 'extendedKeyUsage=clientAuth\n',
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      secure.caCert,
      '-CAkey',
      secure.caKey,
      '-CAcreateserial',
      '-days',
      '3650',
      '-sha256',
      '-extfile',
      ext,
      '-out',
      cert,
    ],
    secure.dir,
  );
  rmSync(csr, { force: true });
  rmSync(ext, { force: true });
  chmodSync(key, 0o600);
}

/**
 * A CA, a server certificate for the broker and one for the registry proxy (SAN 127.0.0.1 and
 * localhost), and a client certificate, made by openssl once per state folder.
 */
export function ensureCertificates(secure: SecurePaths): void {
  const all = [secure.caCert, secure.brokerKeystore, secure.proxyCert, secure.clientCert];
  if (all.every((f) => existsSync(f))) return;
  mkdirSync(secure.dir, { recursive: true, mode: 0o700 });
  openssl(
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', secure.caKey],
    secure.dir,
  );
  chmodSync(secure.caKey, 0o600);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      secure.caKey,
      '-subj',
      '/CN=kafka-order-system local stack CA',
      '-days',
      '3650',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      secure.caCert,
    ],
    secure.dir,
  );
  const san = 'IP:127.0.0.1,DNS:localhost';
  issueCertificate(secure, secure.brokerKey, secure.brokerCert, '/CN=kos-local-broker', san);
  issueCertificate(secure, secure.proxyKey, secure.proxyCert, '/CN=kos-local-registry', san);
  issueCertificate(secure, secure.clientKey, secure.clientCert, '/CN=kos-registry-client', undefined);
  // Kafka's PEM keystore wants an unencrypted PKCS#8 key; openssl genpkey writes exactly that.
  writeFileSync(
    secure.brokerKeystore,
    readFileSync(secure.brokerKey, 'utf8') + readFileSync(secure.brokerCert, 'utf8'),
    { mode: 0o600 },
  );
  rmSync(path.join(secure.dir, 'ca.srl'), { force: true });
}

/** The broker properties of the SASL_SSL listener, beside the listener lists broker.ts renders. */
export function secureListenerProperties(keystore: string): Record<string, string> {
  return {
    'sasl.enabled.mechanisms': SCRAM_MECHANISM,
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
    'listener.name.sasl_ssl.ssl.keystore.location': keystore,
    // A client certificate is not asked for: SCRAM authenticates, TLS encrypts and proves the broker.
    'listener.name.sasl_ssl.ssl.client.auth': 'none',
  };
}

const credentialsHash = (c: SecureCredentials): string =>
  createHash('sha256').update(JSON.stringify(c.users)).digest('hex');

/** Records that the cluster holds these SCRAM credentials (the KRaft format wrote them, or kafka-configs did). */
export function markScramWritten(secure: SecurePaths, credentials: SecureCredentials): void {
  writeFileSync(secure.scramMarker, `${credentialsHash(credentials)}\n`, { mode: 0o600 });
}

/**
 * Writes the SCRAM credentials into the cluster's metadata through Kafka's own kafka-configs tool (kafkajs
 * cannot send AlterUserScramCredentials), over the PLAINTEXT listener, unless the KRaft format already did
 * (a fresh state folder). Once per state folder and change of credentials: the marker holds their hash,
 * never the passwords.
 */
export async function ensureScramUsers(
  config: Pick<StackConfig, 'host' | 'kafkaPort'>,
  paths: Pick<StackPaths, 'kafkaLibsDir' | 'consoleFile'>,
  secure: SecurePaths,
  credentials: SecureCredentials,
  java: Pick<JavaInstall, 'java'>,
  signal?: AbortSignal,
): Promise<boolean> {
  const hash = credentialsHash(credentials);
  if (existsSync(secure.scramMarker) && readFileSync(secure.scramMarker, 'utf8').trim() === hash)
    return false;
  const users = Object.values(credentials.users);
  // The password goes to the tool in a 0600 argument file that only the stack's user can read, never on
  // its command line (/proc/<pid>/cmdline is world-readable); the tool's output, which never echoes it,
  // goes to broker.out.
  for (const user of users) {
    const launcher = ['-Dlog4j2.level=WARN', '-cp', `${paths.kafkaLibsDir}/*`];
    const mainAndArgs = [
      'kafka.admin.ConfigCommand',
      '--bootstrap-server',
      `${config.host}:${config.kafkaPort}`,
      '--alter',
      '--add-config',
      `${SCRAM_MECHANISM}=[iterations=4096,password=${user.password}]`,
      '--entity-type',
      'users',
      '--entity-name',
      user.username,
    ];
    const { code, output } = await withJavaArgFile(
      secure.dir,
      mainAndArgs,
      (argFile) =>
        new Promise<{ code: number; output: string }>((resolve, reject) => {
          let text = '';
          const child = spawn(java.java, [...launcher, argFile], {
            stdio: ['ignore', 'pipe', 'pipe'],
            signal,
          });
          child.stdout.on('data', (d: Buffer) => (text += d.toString()));
          child.stderr.on('data', (d: Buffer) => (text += d.toString()));
          child.once('error', reject);
          child.once('exit', (exitCode) => resolve({ code: exitCode ?? 1, output: text }));
        }),
    );
    const shown = output.split(user.password).join('<redacted>');
    writeFileSync(paths.consoleFile('broker'), shown, { flag: 'a' });
    if (code !== 0) {
      throw new StackError(
        `creating the SCRAM user ${user.username} failed (exit ${code}):\n${shown.trimEnd()}`,
      );
    }
  }
  markScramWritten(secure, credentials);
  return true;
}
