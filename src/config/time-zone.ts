// Time-zone arithmetic on Intl: the local wall-clock parts of an instant, and the instants of a wall-clock time.

/** A wall-clock date and time, without a zone. */
export interface LocalDateTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

/** Whether `timezone` is an IANA zone name the runtime knows (the service accepts names, not offsets). */
export function isValidTimeZone(timezone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(timezone)) return false
  try {
    formatter(timezone)
    return true
  } catch {
    return false
  }
}

// Building an Intl.DateTimeFormat costs far more than using one, and a cron search formats many instants.
const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timezone, f)
  }
  return f
}

/** The wall-clock time of an instant in `timezone`. */
export function localParts(instantMs: number, timezone: string): LocalDateTime {
  const out: LocalDateTime = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 }
  for (const p of formatter(timezone).formatToParts(instantMs)) {
    if (p.type in out) out[p.type as keyof LocalDateTime] = Number(p.value)
  }
  return out
}

/**
 * The instants showing wall-clock time `local` in `timezone`, earliest first: none inside a spring-forward gap,
 * two in a repeated autumn hour.
 */
export function localToInstants(local: LocalDateTime, timezone: string): number[] {
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second)
  const offsets = new Set<number>()
  // Offsets a day either side cover both sides of any transition near this wall-clock time.
  for (const probe of [asUtc - 86_400_000, asUtc, asUtc + 86_400_000]) offsets.add(offsetAt(probe, timezone))
  const found = new Set<number>()
  for (const offset of offsets) {
    const t = asUtc - offset
    const p = localParts(t, timezone)
    if (
      p.year === local.year &&
      p.month === local.month &&
      p.day === local.day &&
      p.hour === local.hour &&
      p.minute === local.minute &&
      p.second === local.second
    )
      found.add(t)
  }
  return [...found].sort((a, b) => a - b)
}

function offsetAt(instantMs: number, timezone: string): number {
  const whole = Math.floor(instantMs / 1000) * 1000
  const p = localParts(whole, timezone)
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - whole
}
