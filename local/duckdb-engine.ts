import path from 'node:path'
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBResultReader,
  type DuckDBType,
} from '@duckdb/node-api'
import { rebuildInformationSchema } from './information-schema.ts'
import { ScanAccounting } from './scan-accounting.ts'
import { type DiscoveredTable, discoverTables, quoteIdentifier, tableViewSql } from './table-catalog.ts'
import {
  type CatalogSnapshot,
  DEFAULT_DATA_LOCATION,
  describeTable,
  readDatabaseSidecar,
  type TableMetadata,
} from './table-metadata.ts'
import { trinoMacroStatements } from './trino-functions.ts'

/** DuckDB catalog standing in for Athena's `AwsDataCatalog` (DuckDB identifiers are case-insensitive). */
export const ATHENA_CATALOG = 'awsdatacatalog'

/** Athena's database when a query names none. */
export const DEFAULT_DATABASE = 'default'

/** Minimal logger the engine reports to. */
export interface EngineLogger {
  info(o: object, msg?: string): void
  warn(o: object, msg?: string): void
}

/** Rows of a finished statement, still in DuckDB's columnar chunks (converted on access). */
export interface EngineResult {
  names: string[]
  types: DuckDBType[]
  reader: DuckDBResultReader
}

const GLOBAL_SETUP = [
  `ATTACH ':memory:' AS ${ATHENA_CATALOG}`,
  // Macro bodies name their helpers schema-qualified (`_trino.x`), resolved in the current catalog.
  `USE ${ATHENA_CATALOG}`,
  // Athena sessions run in UTC.
  "SET GLOBAL TimeZone = 'UTC'",
  // Trino divides integers as integers (5 / 2 = 2); DuckDB would return 2.5.
  'SET GLOBAL integer_division = true',
  // Cached file bytes would not be read (nor logged) again, and DataScannedInBytes comes from that log.
  'SET GLOBAL enable_external_file_cache = false',
  "CALL enable_logging('FileSystem')",
  `CREATE SCHEMA IF NOT EXISTS ${ATHENA_CATALOG}.${quoteIdentifier(DEFAULT_DATABASE)}`,
]

const BYTES_READ_SQL = `SELECT CAST(coalesce(sum(TRY_CAST(bytes AS BIGINT)), 0) AS BIGINT)
  FROM duckdb_logs_parsed('FileSystem') WHERE op = 'READ' AND connection_id = $1`

/**
 * One in-memory DuckDB instance exposing the data directory's Parquet tables as views
 * `awsdatacatalog.<database>.<table>`. Every query execution gets its own connection (a session), so
 * queries run concurrently and can be interrupted and measured one by one.
 */
export class DuckDBEngine {
  private adminQueue: Promise<unknown> = Promise.resolve()
  private tables: DiscoveredTable[] = []
  private snapshot: CatalogSnapshot = { databases: [{ name: DEFAULT_DATABASE }], tables: [] }
  readonly accounting: ScanAccounting

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly admin: DuckDBConnection,
    readonly dataDir: string,
    private readonly logger: EngineLogger | undefined,
    private readonly dataLocation: string,
  ) {
    this.accounting = new ScanAccounting(() => this.adminRun('CALL truncate_duckdb_logs()'))
  }

  /** Starts DuckDB, installs the Trino emulation macros and scans the data directory. */
  static async create(
    dataDir: string,
    logger?: EngineLogger,
    dataLocation: string = DEFAULT_DATA_LOCATION,
  ): Promise<DuckDBEngine> {
    const instance = await DuckDBInstance.create(':memory:')
    const admin = await instance.connect()
    for (const sql of [...GLOBAL_SETUP, ...trinoMacroStatements(ATHENA_CATALOG)]) await admin.run(sql)
    const engine = new DuckDBEngine(instance, admin, dataDir, logger, dataLocation)
    try {
      await engine.refresh()
    } catch (err) {
      engine.close()
      throw err
    }
    return engine
  }

  /** Re-scans the data directory: creates views for new tables, drops views whose files are gone. */
  async refresh(): Promise<DiscoveredTable[]> {
    const tables = await discoverTables(this.dataDir)
    const described: TableMetadata[] = []
    await this.adminExclusive(async () => {
      for (const db of new Set(tables.map((t) => t.database))) {
        await this.admin.run(`CREATE SCHEMA IF NOT EXISTS ${ATHENA_CATALOG}.${quoteIdentifier(db)}`)
      }
      for (const table of [...tables]) {
        try {
          await this.admin.run(tableViewSql(ATHENA_CATALOG, table))
          described.push(await this.describe(table))
        } catch (err) {
          // One unreadable table (a corrupt file, mismatched schemas) must not take the others down.
          tables.splice(tables.indexOf(table), 1)
          this.logger?.warn({ table: `${table.database}.${table.table}`, err }, 'local athena: table skipped')
        }
      }
      const existing = await this.admin.runAndReadAll(
        `SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = '${ATHENA_CATALOG}' AND NOT internal`,
      )
      const wanted = new Set(tables.map((t) => `${t.database}\u0000${t.table}`))
      for (const [schema, view] of existing.getRows()) {
        if (!wanted.has(`${String(schema)}\u0000${String(view)}`)) {
          await this.admin.run(
            `DROP VIEW IF EXISTS ${ATHENA_CATALOG}.${quoteIdentifier(String(schema))}.${quoteIdentifier(String(view))}`,
          )
        }
      }
    })
    this.tables = tables
    this.snapshot = { databases: await this.describeDatabases(tables), tables: described }
    await this.adminExclusive(() => rebuildInformationSchema(this.admin, ATHENA_CATALOG, this.snapshot))
    this.logger?.info(
      { dataDir: this.dataDir, tables: tables.map((t) => `${t.database}.${t.table}`) },
      'local athena: tables loaded',
    )
    return tables
  }

  /** Tables currently exposed. */
  listTables(): readonly DiscoveredTable[] {
    return this.tables
  }

  /** The databases and tables with their columns, partitions and comments, as of the last scan. */
  catalog(): CatalogSnapshot {
    return this.snapshot
  }

  /** Opens a session whose unqualified table names resolve in `database`. */
  async openSession(database: string): Promise<EngineSession> {
    const conn = await this.instance.connect()
    try {
      await conn.run(`USE ${ATHENA_CATALOG}.${quoteIdentifier(database)}`)
      const id = (await conn.runAndReadAll('SELECT current_connection_id()')).getRows()[0]?.[0]
      return new EngineSession(conn, typeof id === 'bigint' ? id : BigInt(Number(id)), this.accounting)
    } catch (err) {
      conn.closeSync()
      throw err
    }
  }

  /** Releases DuckDB. Open sessions must be closed first. */
  close(): void {
    this.admin.closeSync()
    this.instance.closeSync()
  }

  private async describe(table: DiscoveredTable): Promise<TableMetadata> {
    const view = `${ATHENA_CATALOG}.${quoteIdentifier(table.database)}.${quoteIdentifier(table.table)}`
    const prepared = await this.admin.prepare(`SELECT * FROM ${view} LIMIT 0`)
    try {
      const columns = Array.from({ length: prepared.columnCount }, (_, i) => ({
        name: prepared.columnName(i),
        type: prepared.columnType(i),
      }))
      return await describeTable(table, columns, this.dataLocation, (file, reason) =>
        this.logger?.warn({ file, reason }, 'local athena: table description ignored'),
      )
    } finally {
      prepared.destroySync()
    }
  }

  private async describeDatabases(tables: readonly DiscoveredTable[]): Promise<CatalogSnapshot['databases']> {
    const names = [...new Set([DEFAULT_DATABASE, ...tables.map((t) => t.database)])].sort()
    return Promise.all(
      names.map(async (name) => ({
        name,
        description: await readDatabaseSidecar(path.join(this.dataDir, name), (file, reason) =>
          this.logger?.warn({ file, reason }, 'local athena: database description ignored'),
        ),
      })),
    )
  }

  private adminRun(sql: string): Promise<void> {
    return this.adminExclusive(async () => {
      await this.admin.run(sql)
    })
  }

  // The admin connection runs one statement at a time: refresh and log truncation take turns.
  private adminExclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.adminQueue.then(work, work)
    this.adminQueue = run.catch(() => undefined)
    return run
  }
}

/** One execution's DuckDB connection; tracks the bytes its statements read from files. */
export class EngineSession {
  private countedBytes = 0
  private countedGeneration = -1
  private closed = false
  /** Bytes read from files by everything this session prepared or ran. */
  bytesScanned = 0

  constructor(
    private readonly conn: DuckDBConnection,
    readonly connectionId: bigint,
    private readonly accounting: ScanAccounting,
  ) {}

  /** Parses and binds `sql` (DuckDB's equivalent of Athena's up-front syntax and semantic check). */
  prepare(sql: string): Promise<DuckDBPreparedStatement> {
    return this.accounting.measured(
      () => this.conn.prepare(sql),
      () => this.measure(),
    )
  }

  /** Runs a prepared statement to completion and reads every row. */
  execute(prepared: DuckDBPreparedStatement): Promise<EngineResult> {
    return this.accounting.measured(
      async () => {
        const reader = await prepared.runAndReadAll()
        return { names: reader.columnNames(), types: reader.columnTypes(), reader }
      },
      () => this.measure(),
    )
  }

  /** DuckDB's parse tree of `sql` as JSON (used to name columns the way Trino does). */
  async serializeSql(sql: string): Promise<string | undefined> {
    const reader = await this.conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql])
    const value = reader.getRows()[0]?.[0]
    return typeof value === 'string' ? value : undefined
  }

  /** Aborts whatever the connection is running; the pending call rejects with an INTERRUPT error. */
  interrupt(): void {
    if (!this.closed) this.conn.interrupt()
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.conn.closeSync()
  }

  private async measure(): Promise<void> {
    if (this.closed) return
    try {
      const reader = await this.conn.runAndReadAll(BYTES_READ_SQL, [this.connectionId])
      const cumulative = Number(reader.getRows()[0]?.[0] ?? 0)
      // After a truncation the log restarts, so the connection's total restarts too.
      const delta =
        this.countedGeneration === this.accounting.generation ? cumulative - this.countedBytes : cumulative
      this.bytesScanned += Math.max(0, delta)
      this.countedBytes = cumulative
      this.countedGeneration = this.accounting.generation
    } catch {
      // An interrupted connection may refuse the bookkeeping query; the execution is over anyway.
    }
  }
}
