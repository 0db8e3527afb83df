import { pino, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { MIN_SECRET_LENGTH, redactText, unredactedSecrets } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'auto' | 'json' | 'pretty';
  readonly name: string;
  /** 1 (stdout, the default) or 2: a command whose stdout is its output logs to stderr. */
  readonly destination?: 1 | 2;
  /** Where JSON lines go instead of `destination` (tests); redacted all the same. */
  readonly stream?: DestinationStream;
}

/**
 * Every finished line passes through redactText before it is written: registered secrets and URL
 * user-info are removed whatever field, message, error or library (kafkajs logs through us) they came
 * from, so redaction is a property of the logger and no call site can forget it.
 */
function redacting(target: DestinationStream): DestinationStream {
  return { write: (line: string) => target.write(redactText(line)) };
}

/**
 * JSON lines for machines (containers, log shippers); a readable one-line
 * format on a terminal. `auto` decides by whether stdout is a TTY.
 */
export function createLogger({
  level,
  format,
  name,
  destination = 1,
  stream: target,
}: LoggerOptions): Logger {
  const stream = destination === 1 ? process.stdout : process.stderr;
  const pretty = format === 'pretty' || (format === 'auto' && stream.isTTY);
  if (!pretty || target) {
    // Synchronous: a line logged is on stdout before the next step runs. pino's default buffers writes,
    // so a SIGKILLed consumer lost the lines of orders whose offsets it had already committed.
    return pino(
      { name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime },
      redacting(target ?? pino.destination({ dest: destination, sync: true })),
    );
  }
  // In-process (not a transport worker), so the JSON line can be redacted before it is prettified.
  return pino(
    { name, level },
    redacting(
      pinoPretty({
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname,service',
        singleLine: true,
        destination,
        sync: true,
      }),
    ),
  );
}

/** The logger of the process `name`, at the configured level and format. */
export function processLogger(
  config: { readonly logLevel: string; readonly logFormat: LoggerOptions['format'] },
  name: string,
): Logger {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, name });
  warnAboutUnredactedSecrets(logger);
  return logger;
}

/** One warning per secret setting too short to be redacted (its name, never its value). */
export function warnAboutUnredactedSecrets(logger: Logger): void {
  for (const setting of unredactedSecrets()) {
    logger.warn(
      { setting },
      `${setting} is shorter than ${MIN_SECRET_LENGTH} characters, so it is not redacted from logs and errors: use a longer secret`,
    );
  }
}
