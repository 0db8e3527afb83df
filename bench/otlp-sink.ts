import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local OTLP/HTTP receiver that takes every export and keeps only counts: where traced runs post spans. */
export interface OtlpSink {
  /** The URL to post spans to (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
  readonly url: string;
  /** Exports received and their bytes so far. */
  readonly received: { exports: number; bytes: number };
  close(): Promise<void>;
}

/**
 * Starts the sink on a free loopback port. It runs in the bench's process, so reading the exports is
 * counted against the traced consumer, as a collector's sidecar on the same cores would be.
 */
export async function startOtlpSink(): Promise<OtlpSink> {
  const received = { exports: 0, bytes: 0 };
  const server: Server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (received.bytes += chunk.length));
    request.on('end', () => {
      received.exports += 1;
      // An empty ExportTraceServiceResponse: everything accepted.
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
