import { randomUUID } from 'node:crypto'
import { type DuckDBPreparedStatement, StatementType } from '@duckdb/node-api'
import { AthenaApiError, invalidRequest, tooManyRequests } from './athena-api-error.ts'
import { AthenaCatalogApi } from './athena-catalog-api.ts'
import { type AthenaOperation, isMetadataOperation } from './athena-operations.ts'
import {
  batchGetQueryExecutionInput,
  type GetQueryResultsInput,
  getQueryExecutionInput,
  getQueryResultsInput,
  type ListQueryExecutionsInput,
  listQueryExecutionsInput,
  parseRequest,
  type StartQueryExecutionInput,
  startQueryExecutionInput,
  stopQueryExecutionInput,
} from './athena-requests.ts'
import { bindParameters } from './bind-parameters.ts'
import {
  ATHENA_CATALOG,
  DEFAULT_DATABASE,
  type DuckDBEngine,
  type EngineLogger,
  type EngineSession,
} from './duckdb-engine.ts'
import { messageOf } from './duckdb-errors.ts'
import { type ParameterValue, parseExecutionParameters } from './execution-parameters.ts'
import {
  type EngineStatement,
  type PlannedStatement,
  type RunPlan,
  releaseStatement,
  runExecution,
} from './execution-runner.ts'
import type { ExecutionStore } from './execution-store.ts'
import type { FaultInjector } from './fault-injector.ts'
import { rewriteInformationSchema } from './information-schema.ts'
import type { LocalStats } from './local-stats.ts'
import { planMetadataStatement } from './metadata-answers.ts'
import { resolveOutputLocation } from './output-location.ts'
import { decodePageToken, encodePageToken } from './page-token.ts'
import { isTerminal, type QueryExecution, type StoredResult, toWireExecution } from './query-execution.ts'
import type { ResultFiles } from './result-files.ts'
import { resultObjectUri } from './s3-location.ts'
import { translateTrinoSql } from './sql-translate.ts'
import { classifyStatement, type StatementKind } from './statement-kind.ts'
import { outputLocationChoice, type WorkGroups } from './work-groups.ts'

const DEFAULT_CATALOG = 'AwsDataCatalog'
const DEFAULT_REUSE_MAX_AGE_MINUTES = 60
const MAX_RESULTS_PAGE = 1000
const MAX_LIST_PAGE = 50
// Only statements that read: the endpoint must never modify the data directory.
const ALLOWED_STATEMENTS: ReadonlySet<StatementType> = new Set([StatementType.SELECT, StatementType.EXPLAIN])

/** Runtime-tunable behaviour. */
export interface ServiceConfig {
  minQueryMs: number
  /** The work groups requests may name (an unknown one is refused, as on Athena). */
  workGroups: WorkGroups
}

/**
 * The Athena API semantics: validation, idempotency, result reuse, pagination and the execution
 * lifecycle. Transport-free: the HTTP layer hands it an operation name and a parsed JSON body.
 */
export class LocalAthenaService {
  private readonly running = new Set<Promise<void>>()
  private readonly metadata: AthenaCatalogApi

  constructor(
    private readonly engine: DuckDBEngine,
    private readonly store: ExecutionStore,
    private readonly files: ResultFiles,
    private readonly faults: FaultInjector,
    private readonly stats: LocalStats,
    readonly config: ServiceConfig,
    private readonly logger?: EngineLogger,
  ) {
    this.metadata = new AthenaCatalogApi(() => engine.catalog(), config.workGroups)
  }

  /** Handles one API call: counts it, applies throttle faults, then runs the operation. */
  async call(operation: AthenaOperation, body: unknown): Promise<Record<string, unknown>> {
    this.stats.recordCall(operation)
    if (operation === 'GetQueryExecution') {
      const id = field(body, 'QueryExecutionId')
      if (typeof id === 'string') this.stats.recordStatusCall(id)
    }
    if (this.faults.takeThrottle(operation, this.queryTextOf(operation, body))) throw tooManyRequests()
    if (isMetadataOperation(operation)) return this.metadata.call(operation, body)
    switch (operation) {
      case 'StartQueryExecution':
        return this.startQueryExecution(parseRequest(startQueryExecutionInput, body))
      case 'GetQueryExecution':
        return this.getQueryExecution(parseRequest(getQueryExecutionInput, body).QueryExecutionId)
      case 'BatchGetQueryExecution':
        return this.batchGetQueryExecution(parseRequest(batchGetQueryExecutionInput, body).QueryExecutionIds)
      case 'ListQueryExecutions':
        return this.listQueryExecutions(parseRequest(listQueryExecutionsInput, body))
      case 'GetQueryResults':
        return this.getQueryResults(parseRequest(getQueryResultsInput, body))
      case 'StopQueryExecution':
        return this.stopQueryExecution(parseRequest(stopQueryExecutionInput, body).QueryExecutionId)
    }
  }

  /** Cancels every unfinished execution and waits for their runs to wind down. */
  async close(): Promise<void> {
    for (const e of this.store.active()) this.cancel(e, 'Local Athena endpoint shut down')
    await Promise.allSettled([...this.running])
  }

  private async startQueryExecution(input: StartQueryExecutionInput): Promise<Record<string, unknown>> {
    const context = input.QueryExecutionContext
    const database = context?.Database ?? DEFAULT_DATABASE
    const catalog = context?.Catalog ?? DEFAULT_CATALOG
    if (catalog.toLowerCase() !== ATHENA_CATALOG) {
      throw invalidRequest(
        `Catalog '${catalog}' does not exist (the local endpoint only has ${DEFAULT_CATALOG})`,
      )
    }
    const group = this.config.workGroups.get(input.WorkGroup)
    const workGroup = group.name
    const output = resolveOutputLocation(
      ...outputLocationChoice(group, input.ResultConfiguration?.OutputLocation),
    )
    const fingerprint = JSON.stringify([
      input.QueryString,
      database.toLowerCase(),
      catalog.toLowerCase(),
      input.ExecutionParameters ?? [],
    ])
    const requestFingerprint = JSON.stringify([
      fingerprint,
      workGroup,
      input.ResultConfiguration?.OutputLocation,
    ])
    const replay = this.replay(input.ClientRequestToken, requestFingerprint)
    if (replay) return { QueryExecutionId: replay.id }
    // The bucket exists from the first query naming it: listing it answers an empty list, not NoSuchBucket.
    await this.files.ensureBucket(output.location.bucket)

    const parameters = parseExecutionParameters(input.ExecutionParameters ?? [])
    const kind = classifyStatement(input.QueryString)
    // SHOW and DESCRIBE are answered from the catalog, as Athena answers them from Glue: DuckDB is not involved.
    const statement: PlannedStatement =
      planMetadataStatement(input.QueryString, database, this.engine.catalog(), parameters.length) ??
      (await this.prepareOnEngine(input.QueryString, database, parameters, kind))
    const reuse = input.ResultReuseConfiguration?.ResultReuseByAgeConfiguration
    const previous = reuse?.Enabled
      ? this.store.findReusable(
          fingerprint,
          Date.now() - (reuse.MaxAgeInMinutes ?? DEFAULT_REUSE_MAX_AGE_MINUTES) * 60_000,
        )
      : undefined
    // As on Athena, a reused result is the previous execution's object, so that object must still exist.
    const reuseCandidate =
      previous?.result && (await this.files.has(previous.outputLocation)) ? previous : undefined
    // Another request with the same token may have been registered while this one was being prepared.
    const raced = this.replay(input.ClientRequestToken, requestFingerprint)
    if (raced) {
      releaseStatement(statement)
      return { QueryExecutionId: raced.id }
    }

    const faults = this.faults.takeExecutionFaults(input.QueryString)
    const reusable = faults.any ? undefined : reuseCandidate
    const now = Date.now()
    const id = randomUUID()
    const format = kind.statementType === 'DML' ? 'csv' : 'txt'
    const execution: QueryExecution = {
      id,
      seq: this.store.allocateSeq(),
      query: input.QueryString,
      database,
      context,
      workGroup,
      outputLocation: reusable?.outputLocation ?? resultObjectUri(output.uri, id, format),
      executionParameters: input.ExecutionParameters,
      resultReuse: input.ResultReuseConfiguration?.ResultReuseByAgeConfiguration
        ? { ResultReuseByAgeConfiguration: input.ResultReuseConfiguration.ResultReuseByAgeConfiguration }
        : undefined,
      clientRequestToken: input.ClientRequestToken,
      fingerprint,
      requestFingerprint,
      statementType: kind.statementType,
      substatementType: kind.substatementType,
      state: 'QUEUED',
      stateChangeReason: undefined,
      submittedAt: now,
      runningAt: undefined,
      completedAt: undefined,
      error: undefined,
      dataScannedBytes: 0,
      reusedPreviousResult: false,
      result: undefined,
      abort: new AbortController(),
    }
    this.store.add(execution)
    this.stats.recordExecutionStarted()

    if (reusable?.result) {
      releaseStatement(statement)
      execution.result = reusable.result
      execution.reusedPreviousResult = true
      execution.runningAt = now
      execution.completedAt = now
      execution.state = 'SUCCEEDED'
      this.store.noteResult(execution)
      return { QueryExecutionId: id }
    }

    const plan: RunPlan = {
      statement,
      faults,
      minQueryMs: this.config.minQueryMs,
      writeResult: (result: StoredResult, signal: AbortSignal) =>
        this.files.write(execution.outputLocation, result, format, signal),
    }
    const run = runExecution(execution, plan, (e) => {
      if (e.result) this.store.noteResult(e)
      if (e.state === 'FAILED') {
        this.logger?.info({ queryExecutionId: e.id, error: e.error }, 'local athena: query failed')
      }
    }).catch((err: unknown) => this.logger?.warn({ err, queryExecutionId: id }, 'local athena: run crashed'))
    this.running.add(run)
    void run.finally(() => this.running.delete(run))
    return { QueryExecutionId: id }
  }

  /** Parses and binds a statement on a new DuckDB session of the execution (refused at submission when invalid). */
  private async prepareOnEngine(
    query: string,
    database: string,
    parameters: ParameterValue[],
    kind: StatementKind,
  ): Promise<EngineStatement> {
    const sql = translateTrinoSql(rewriteInformationSchema(query))
    const session = await this.openSession(database)
    let prepared: DuckDBPreparedStatement | undefined
    let serializedSql: string | undefined
    try {
      prepared = await session.prepare(sql).catch((err: unknown) => {
        throw invalidRequest(messageOf(err), 'MALFORMED_QUERY')
      })
      if (!ALLOWED_STATEMENTS.has(prepared.statementType)) {
        throw invalidRequest(
          'Only queries (SELECT, SHOW, DESCRIBE, EXPLAIN) are supported by the local Athena endpoint',
          'MALFORMED_QUERY',
        )
      }
      if (prepared.parameterCount !== parameters.length) {
        throw invalidRequest(
          `The query has ${prepared.parameterCount} parameter placeholder(s) but ${parameters.length} ExecutionParameters were given`,
        )
      }
      try {
        bindParameters(prepared, parameters)
      } catch (err) {
        throw invalidRequest(`ExecutionParameters could not be bound: ${messageOf(err)}`)
      }
      if (kind.headerRow) serializedSql = await session.serializeSql(sql).catch(() => undefined)
    } catch (err) {
      prepared?.destroySync()
      session.close()
      throw err
    }
    return { kind: 'engine', session, prepared, headerRow: kind.headerRow, serializedSql }
  }

  private getQueryExecution(id: string): Record<string, unknown> {
    return { QueryExecution: toWireExecution(this.mustGet(id)) }
  }

  private batchGetQueryExecution(ids: string[]): Record<string, unknown> {
    const found: Record<string, unknown>[] = []
    const missing: Record<string, unknown>[] = []
    for (const id of ids) {
      const e = this.store.get(id)
      if (e) found.push(toWireExecution(e))
      else
        missing.push({ QueryExecutionId: id, ErrorCode: 'INVALID_INPUT', ErrorMessage: notFoundMessage(id) })
    }
    return { QueryExecutions: found, UnprocessedQueryExecutionIds: missing }
  }

  private listQueryExecutions(input: ListQueryExecutionsInput): Record<string, unknown> {
    const workGroup = this.config.workGroups.get(input.WorkGroup).name
    const scope = `list:${workGroup}`
    const before = input.NextToken
      ? decodePageToken(input.NextToken, scope, Number.MAX_SAFE_INTEGER)
      : undefined
    const pageSize = input.MaxResults || MAX_LIST_PAGE
    const all = this.store.list(workGroup, before)
    const page = all.slice(0, pageSize)
    const out: Record<string, unknown> = { QueryExecutionIds: page.map((e) => e.id) }
    const last = page[page.length - 1]
    if (all.length > page.length && last) out.NextToken = encodePageToken(scope, last.seq)
    return out
  }

  private getQueryResults(input: GetQueryResultsInput): Record<string, unknown> {
    const e = this.mustGet(input.QueryExecutionId)
    if (e.state === 'QUEUED' || e.state === 'RUNNING') {
      throw invalidRequest(`Query has not yet finished. Current state: ${e.state}`)
    }
    if (e.state !== 'SUCCEEDED') {
      throw invalidRequest(`Query did not finish successfully. Final query state: ${e.state}`)
    }
    const result = e.result
    if (result === undefined) {
      throw invalidRequest(`Results of query ${e.id} are no longer kept by the local Athena endpoint`)
    }
    // Positions count the header as row 0 when there is one, so a token never repeats it.
    const headerRows = result.headerRow ? 1 : 0
    const total = result.rowCount + headerRows
    const scope = `results:${e.id}`
    const start = input.NextToken ? decodePageToken(input.NextToken, scope, total) : 0
    const end = Math.min(total, start + (input.MaxResults ?? MAX_RESULTS_PAGE))
    const rows: Record<string, unknown>[] = []
    if (start < headerRows) rows.push({ Data: result.columns.map((c) => ({ VarCharValue: c.Label })) })
    for (const row of result.rows(Math.max(0, start - headerRows), end - headerRows)) {
      rows.push({ Data: row.map((value) => (value === null ? {} : { VarCharValue: value })) })
    }
    const out: Record<string, unknown> = {
      UpdateCount: 0,
      ResultSet: { Rows: rows, ResultSetMetadata: { ColumnInfo: result.columns } },
    }
    if (end < total) out.NextToken = encodePageToken(scope, end)
    return out
  }

  private stopQueryExecution(id: string): Record<string, unknown> {
    const e = this.mustGet(id)
    if (!isTerminal(e.state)) this.cancel(e, 'Query was cancelled by user')
    return {}
  }

  private cancel(e: QueryExecution, reason: string): void {
    e.state = 'CANCELLED'
    e.stateChangeReason = reason
    e.completedAt = Date.now()
    e.abort.abort()
  }

  private replay(token: string | undefined, requestFingerprint: string): QueryExecution | undefined {
    if (token === undefined) return undefined
    const previous = this.store.byToken(token)
    if (previous === undefined) return undefined
    if (previous.requestFingerprint !== requestFingerprint) {
      throw invalidRequest('Idempotent parameters do not match')
    }
    return previous
  }

  private async openSession(database: string): Promise<EngineSession> {
    try {
      return await this.engine.openSession(database)
    } catch (err) {
      if (err instanceof AthenaApiError) throw err
      throw invalidRequest(`Database '${database}' does not exist (${messageOf(err)})`, 'MALFORMED_QUERY')
    }
  }

  private mustGet(id: string): QueryExecution {
    const e = this.store.get(id)
    if (e === undefined) throw invalidRequest(notFoundMessage(id))
    return e
  }

  private queryTextOf(operation: AthenaOperation, body: unknown): string | undefined {
    if (operation === 'StartQueryExecution') {
      const query = field(body, 'QueryString')
      return typeof query === 'string' ? query : undefined
    }
    const ids = field(body, 'QueryExecutionIds')
    const id = field(body, 'QueryExecutionId')
    const list = Array.isArray(ids) ? ids : [id]
    const queries = list
      .filter((x): x is string => typeof x === 'string')
      .map((x) => this.store.get(x)?.query)
      .filter((q): q is string => q !== undefined)
    return queries.length === 0 ? undefined : queries.join('\n')
  }
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined
}

function notFoundMessage(id: string): string {
  return `QueryExecution ${id} was not found`
}
