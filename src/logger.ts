import { type Logger, pino } from 'pino'

/**
 * JSON logs on stdout (stderr for commands whose stdout is their result). The Node server writes asynchronously
 * (lines logged while a write is in flight go out together); Lambda writes synchronously because nothing runs after
 * a response there.
 */
export function createLogger(options: {
  level: string
  sync: boolean
  name?: string
  stream?: 'stdout' | 'stderr'
}): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? 'athena-cache-proxy',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ sync: options.sync, fd: options.stream === 'stderr' ? 2 : 1 }),
  )
}

/** Writes buffered log lines out synchronously (call before exit). */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush()
  } catch {
    // stdout already closed
  }
}
