/**
 * Trino renders DOUBLE and REAL values with Java's `Double.toString` / `Float.toString`: the shortest
 * decimal that round-trips, in plain notation for magnitudes in [1e-3, 1e7) and `d.dddE±n` otherwise,
 * always with at least one fractional digit (`1.0`, `1.0E7`). JavaScript's `Number#toString` and
 * `toExponential()` also produce shortest round-trip digits, so only the layout differs.
 */

/** Renders a double the way Java's `Double.toString` does (and so the way Athena shows it). */
export function formatJavaDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return 'Infinity'
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity'
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0'
  const magnitude = Math.abs(value)
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    // JS only switches to exponent notation below 1e-6, so this range always prints plainly.
    const plain = String(value)
    return plain.includes('.') ? plain : `${plain}.0`
  }
  const [mantissa = '', exponent = ''] = value.toExponential().split('e')
  const javaMantissa = mantissa.includes('.') ? mantissa : `${mantissa}.0`
  const javaExponent = exponent.startsWith('+') ? exponent.slice(1) : exponent
  return `${javaMantissa}E${javaExponent}`
}

/** Renders a 32-bit float the way Java's `Float.toString` does: shortest digits that round-trip as a float. */
export function formatJavaFloat(value: number): string {
  if (!Number.isFinite(value) || value === 0) return formatJavaDouble(value)
  const single = Math.fround(value)
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(single.toPrecision(digits))
    if (Math.fround(candidate) === single) return formatJavaDouble(candidate)
  }
  return formatJavaDouble(single)
}
