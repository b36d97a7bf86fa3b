import { readdir } from 'node:fs/promises'
import path from 'node:path'

/** A table found in the data directory: `<dataDir>/<database>/<table>/…/*.parquet`. */
export interface DiscoveredTable {
  database: string
  table: string
  dir: string
  /** Hive partition keys (`dt` for `dt=2024-01-01/`), outermost first. */
  partitionKeys: string[]
  /** Every partition's values (`['2024-01-01']` for `dt=2024-01-01/`), in `partitionKeys` order, sorted. */
  partitions: string[][]
  files: number
}

const HIDDEN = /^[._]/

/**
 * Scans the data directory for tables. Entries starting with `.` or `_` are skipped (temporary and
 * metadata entries such as an in-progress sample-data generation or the sample data's `_sample.json`);
 * directories without any Parquet file are not tables, and only Parquet files are read.
 */
export async function discoverTables(dataDir: string): Promise<DiscoveredTable[]> {
  const tables: DiscoveredTable[] = []
  for (const database of await listDirs(dataDir)) {
    for (const table of await listDirs(path.join(dataDir, database))) {
      const dir = path.join(dataDir, database, table)
      const files = await listParquetFiles(dir)
      const first = files[0]
      if (first === undefined) continue
      const partitionKeys = partitionKeysOf(path.relative(dir, first))
      tables.push({
        database,
        table,
        dir,
        partitionKeys,
        partitions: partitionsOf(dir, files, partitionKeys.length),
        files: files.length,
      })
    }
  }
  return tables
}

/** SQL for the view exposing a discovered table, with partition columns typed VARCHAR. */
export function tableViewSql(catalog: string, table: DiscoveredTable): string {
  const glob = sqlString(`${table.dir}${path.sep}**${path.sep}*.parquet`)
  const options =
    table.partitionKeys.length === 0
      ? 'hive_partitioning = false'
      : `hive_partitioning = true, hive_types = {${table.partitionKeys
          .map((key) => `${sqlString(key)}: VARCHAR`)
          .join(', ')}}`
  return `CREATE OR REPLACE VIEW ${catalog}.${quoteIdentifier(table.database)}.${quoteIdentifier(table.table)} AS SELECT * FROM read_parquet(${glob}, ${options})`
}

/** Double-quotes an SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** Single-quotes an SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

function partitionKeysOf(relativeFile: string): string[] {
  const keys: string[] = []
  for (const segment of relativeFile.split(path.sep).slice(0, -1)) {
    const eq = segment.indexOf('=')
    if (eq > 0) keys.push(segment.slice(0, eq))
  }
  return keys
}

/** The distinct partition value tuples of a table's files (files outside a full partition path are skipped). */
function partitionsOf(dir: string, files: readonly string[], depth: number): string[][] {
  if (depth === 0) return []
  const seen = new Map<string, string[]>()
  for (const file of files) {
    const values = path
      .relative(dir, file)
      .split(path.sep)
      .slice(0, -1)
      .filter((segment) => segment.indexOf('=') > 0)
      .map((segment) => segment.slice(segment.indexOf('=') + 1))
    if (values.length === depth) seen.set(values.join('/'), values)
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, values]) => values)
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true })
    return entries
      .filter((e) => e.isDirectory() && !HIDDEN.test(e.name))
      .map((e) => e.name)
      .sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

async function listParquetFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.parquet') && !HIDDEN.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .filter(
      (file) =>
        !path
          .relative(dir, file)
          .split(path.sep)
          .some((segment) => HIDDEN.test(segment)),
    )
    .sort()
}
