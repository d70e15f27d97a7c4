import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  /** Service name: bookie, broker, coordinator, standalone, cli... */
  service: string;
  /** This node's name (bookie id, broker id...). */
  node: string;
  level?: string;
  /** Destination file descriptor or stream; stdout by default. */
  destination?: pino.DestinationStream;
}

/** A pino JSON logger whose every line carries `service` and `node`. */
export function createLogger(opts: LogOptions): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env.MAGNETAR_LOG_LEVEL ?? 'info',
    base: { service: opts.service, node: opts.node, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that writes nothing (for unit tests of pure code). */
export function silentLogger(service = 'test', node = 'test'): Logger {
  return pino({ level: 'silent', base: { service, node } });
}
