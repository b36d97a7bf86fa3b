import { type Logger, pino } from 'pino'

/**
 * JSON logs on stdout. The Node server writes asynchronously (lines logged while a write is in flight go out together;
 * a synchronous write per request costs a large share of a cache hit); Lambda writes synchronously because nothing
 * runs after a response there.
 */
export function createLogger(options: { level: string; sync: boolean; name?: string }): Logger {
  const destination = options.sync ? pino.destination({ sync: true }) : pino.destination({ sync: false })
  return pino(
    {
      level: options.level,
      name: options.name ?? 'athena-cache-proxy',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
}

/** Flushes buffered log lines (call before exit). */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush()
  } catch {
    // stdout already closed
  }
}
