import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'auto' | 'json' | 'pretty';
  readonly name: string;
  /** 1 (stdout, the default) or 2: a command whose stdout is its output logs to stderr. */
  readonly destination?: 1 | 2;
}

/**
 * JSON lines for machines (containers, log shippers); a readable one-line
 * format on a terminal. `auto` decides by whether stdout is a TTY.
 */
export function createLogger({ level, format, name, destination = 1 }: LoggerOptions): Logger {
  const stream = destination === 1 ? process.stdout : process.stderr;
  const pretty = format === 'pretty' || (format === 'auto' && stream.isTTY);
  if (!pretty) {
    // Synchronous: a line logged is on stdout before the next step runs. pino's default buffers writes,
    // so a SIGKILLed consumer lost the lines of orders whose offsets it had already committed.
    return pino(
      { name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime },
      pino.destination({ dest: destination, sync: true }),
    );
  }
  return pino({
    name,
    level,
    transport: {
      target: 'pino-pretty',
      options: {
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname,service',
        singleLine: true,
        destination,
      },
    },
  });
}

/** The logger of the process `name`, at the configured level and format. */
export function processLogger(
  config: { readonly logLevel: string; readonly logFormat: LoggerOptions['format'] },
  name: string,
): Logger {
  return createLogger({ level: config.logLevel, format: config.logFormat, name });
}
