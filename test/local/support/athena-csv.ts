/**
 * Parses a CSV result file the way it must be read to tell SQL NULL from the empty string: every value is
 * double-quoted (`""` inside one is a quote), and an empty unquoted field is NULL (returned as null). Anything
 * else Athena never writes (an unquoted value, a missing final newline) throws, so the format is checked too.
 */
export function parseAthenaCsv(text: string): (string | null)[][] {
  const rows: (string | null)[][] = []
  let row: (string | null)[] = []
  let i = 0
  while (i < text.length) {
    let value: string | null = null
    if (text[i] === '"') {
      let s = ''
      i++
      for (;;) {
        const quote = text.indexOf('"', i)
        if (quote < 0) throw new Error(`unterminated quoted field at ${i}`)
        s += text.slice(i, quote)
        if (text[quote + 1] === '"') {
          s += '"'
          i = quote + 2
        } else {
          i = quote + 1
          break
        }
      }
      value = s
    } else if (text[i] !== ',' && text[i] !== '\n') {
      throw new Error(`unquoted value at ${i}: ${JSON.stringify(text.slice(i, i + 20))}`)
    }
    row.push(value)
    if (text[i] === ',') {
      i++
    } else if (text[i] === '\n') {
      rows.push(row)
      row = []
      i++
    } else {
      throw new Error(`expected , or newline at ${i}`)
    }
  }
  if (row.length > 0) throw new Error('the last line has no newline')
  return rows
}
