import { type DuckDBPreparedStatement, dateValue, decimalValue, timestampValue } from '@duckdb/node-api'
import type { ParameterValue } from './execution-parameters.ts'

/** Binds parsed execution parameters to `?` placeholders 1…n as typed values (never spliced into SQL). */
export function bindParameters(
  prepared: DuckDBPreparedStatement,
  parameters: readonly ParameterValue[],
): void {
  prepared.clearBindings()
  for (const [i, p] of parameters.entries()) {
    const index = i + 1
    switch (p.kind) {
      case 'varchar':
        prepared.bindVarchar(index, p.value)
        break
      case 'integer':
        prepared.bindInteger(index, p.value)
        break
      case 'bigint':
        prepared.bindBigInt(index, p.value)
        break
      case 'decimal':
        prepared.bindDecimal(index, decimalValue(p.value, p.width, p.scale))
        break
      case 'double':
        prepared.bindDouble(index, p.value)
        break
      case 'boolean':
        prepared.bindBoolean(index, p.value)
        break
      case 'null':
        prepared.bindNull(index)
        break
      case 'date':
        prepared.bindDate(index, dateValue({ year: p.year, month: p.month, day: p.day }))
        break
      case 'timestamp':
        prepared.bindTimestamp(index, timestampValue(p.micros))
        break
    }
  }
}
