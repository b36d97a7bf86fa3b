/**
 * Names result columns the way Trino (and so Athena) does: an aliased expression keeps its alias, a bare
 * column reference keeps the column name, anything else is `_col<position>`; all lower case, because
 * Trino folds identifiers. DuckDB would call `count(*)` "count_star()". Works on DuckDB's own parse tree
 * (`json_serialize_sql`) and falls back to DuckDB's names when the select list can not be matched
 * one-to-one to the result (a `*` expansion, an unexpected tree).
 */
export function trinoColumnNames(
  serializedSql: string | undefined,
  duckdbNames: readonly string[],
): string[] {
  const fallback = duckdbNames.map((n) => n.toLowerCase())
  if (serializedSql === undefined) return fallback
  let tree: unknown
  try {
    tree = JSON.parse(serializedSql)
  } catch {
    return fallback
  }
  const selectList = topSelectList(tree)
  if (selectList === undefined || selectList.length !== duckdbNames.length) return fallback
  const names: string[] = []
  for (const [i, item] of selectList.entries()) {
    if (!isRecord(item)) return fallback
    const itemClass = item.class
    if (itemClass === 'STAR' || itemClass === 'COLUMNS') return fallback
    const alias = typeof item.alias === 'string' ? item.alias : ''
    if (alias !== '') {
      names.push(alias.toLowerCase())
    } else if (itemClass === 'COLUMN_REF' && Array.isArray(item.column_names)) {
      const last: unknown = item.column_names[item.column_names.length - 1]
      names.push(typeof last === 'string' ? last.toLowerCase() : `_col${i}`)
    } else {
      names.push(`_col${i}`)
    }
  }
  return names
}

function topSelectList(tree: unknown): unknown[] | undefined {
  if (!isRecord(tree) || tree.error === true || !Array.isArray(tree.statements)) return undefined
  const statement: unknown = tree.statements[0]
  if (!isRecord(statement)) return undefined
  let node: unknown = statement.node
  // A set operation (UNION …) takes its column names from its left-most branch.
  while (isRecord(node) && node.type === 'SET_OPERATION_NODE') node = node.left
  if (!isRecord(node) || node.type !== 'SELECT_NODE' || !Array.isArray(node.select_list)) return undefined
  return node.select_list
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
