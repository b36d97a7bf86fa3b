// Numbers for people: thousands separators, binary byte units, short durations.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })

/** 1234567 → "1,234,567"; fractions are rounded to one decimal. */
export function formatNumber(n: number): string {
  return Number.isInteger(n) ? integer.format(n) : decimal.format(n)
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? integer.format(value) : decimal.format(value)} ${BYTE_UNITS[unit]}`
}

/** 0.934 → "93.4 %"; null (nothing to divide) → "–". */
export function formatRatio(ratio: number | null): string {
  return ratio === null ? '–' : `${decimal.format(ratio * 100)} %`
}

/** Milliseconds with the precision that matters at their size: "0.42 ms", "12 ms", "1.3 s". */
export function formatMs(ms: number): string {
  if (ms === 0) return '0 ms'
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${integer.format(ms)} ms`
  return `${decimal.format(ms / 1000)} s`
}

/** Seconds as the largest two units: "42 s", "3 min 20 s", "5 h 12 min", "2 d 4 h"; negative as "-…". */
export function formatSeconds(seconds: number): string {
  const sign = seconds < 0 ? '-' : ''
  let s = Math.round(Math.abs(seconds))
  if (s < 60) return `${sign}${s} s`
  const units: Array<[string, number]> = [
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
    ['s', 1],
  ]
  const parts: string[] = []
  for (const [name, size] of units) {
    if (s >= size || parts.length > 0) {
      parts.push(`${Math.floor(s / size)} ${name}`)
      s %= size
    }
    if (parts.length === 2) break
  }
  return sign + parts.join(' ')
}

/** An ISO time as local "YYYY-MM-DD HH:MM:SS". */
export function formatTime(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** An ISO time as local "HH:MM". */
export function formatClock(iso: string): string {
  return formatTime(iso).slice(11, 16)
}

/** A UTC day as YYYY-MM-DD. */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10)
}

/** The UTC day `days` after `day` (YYYY-MM-DD; negative goes back). */
export function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return isoDay(d)
}
