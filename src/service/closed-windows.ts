import type { Logger } from 'pino'
import type { QueryDef } from '../config/catalog.ts'
import { errorMessage } from '../errors.ts'
import type { ResolvedQuery } from './read-result.ts'

const HOUR_MS = 3_600_000

/**
 * How long a result stays fresh: the query's TTL, or its `closedWindow.ttlSeconds` when the result's range ends
 * before the data that has landed for every table it reads, less the late-data grace. Such a window is closed: no
 * new data will change it, and if late data does, its landing event is a range invalidation that reaches it (the
 * stamps, not the TTL, keep it right). Results reaching into the open window keep the short TTL. Without landing
 * information (no events yet, or the store does not answer) every result is treated as open.
 */
export class ClosedWindows {
  constructor(
    private readonly o: {
      /** The end (epoch ms, exclusive) of the newest data landed for every table `def` reads; undefined = unknown. */
      landedUntil: (def: QueryDef) => Promise<number | undefined>
      logger: Logger
    },
  ) {}

  /** Milliseconds `resolved`'s result computed now stays fresh. */
  async freshForMs(resolved: ResolvedQuery): Promise<number> {
    const { def } = resolved
    const open = def.ttlSeconds * 1000
    const closed = def.closedWindow
    const span = resolved.stamps.range
    if (!closed || !span) return open
    let landed: number | undefined
    try {
      landed = await this.o.landedUntil(def)
    } catch (err) {
      this.o.logger.warn({ err: errorMessage(err), query: def.name }, 'landed data unknown: open-window TTL')
      return open
    }
    if (landed === undefined) return open
    return span.endMs <= landed - closed.lateDataGraceHours * HOUR_MS ? closed.ttlSeconds * 1000 : open
  }
}
