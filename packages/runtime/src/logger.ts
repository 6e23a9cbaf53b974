export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

/** Structured logging: one JSON object per line. */
export interface Logger {
  /** Checked before building fields on hot paths. */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface JsonLoggerOptions {
  level?: LogLevel;
  stream?: { write(chunk: string): unknown };
  /** Fields added to every line (service name, model name). */
  base?: LogFields;
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** A logger writing `{"level","msg",...fields,"time"}` lines; errors are rendered as their message. */
export function createJsonLogger(opts: JsonLoggerOptions = {}): Logger {
  const threshold = RANK[opts.level ?? 'info'];
  const stream = opts.stream ?? process.stdout;
  const base = opts.base ?? {};
  const write = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => {
    if (RANK[level] < threshold) return;
    const line: LogFields = { level, msg, ...base };
    if (fields !== undefined) {
      for (const key of Object.keys(fields)) {
        const value = fields[key];
        line[key] = value instanceof Error ? value.message : value;
      }
    }
    line['time'] = new Date().toISOString();
    stream.write(`${JSON.stringify(line)}\n`);
  };
  return {
    enabled: (level) => RANK[level] >= threshold,
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}
