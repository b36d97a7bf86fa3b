// Terraform test helpers for infra/: a small model of the configuration parsed with hcl2json (declarations,
// references, blocks), terraform on PATH, and a workspace that copies infra/ and plans it offline against a local
// provider mirror (TF_PLUGIN_MIRROR, default /opt/tf-plugins) with fake credentials and a stubbed account id.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getReferencesInExpression, parse } from '@cdktf/hcl2json'
import { expect } from 'vitest'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const INFRA = join(ROOT, 'infra')

// ---------------------------------------------------------------------------------------------------------------
// A small model of a Terraform configuration, built from hcl2json's JSON.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type Body = { [key: string]: Json }

export interface TfModel {
  /** "aws_type.name" → body */
  resources: Map<string, Body>
  /** "type.name" (without "data.") → body */
  data: Map<string, Body>
  variables: Map<string, Body>
  locals: Map<string, Json>
  outputs: Map<string, Body>
  /** provider blocks by name */
  providers: Map<string, Body>
  /** Declarations seen twice ("resource aws_x.y in b.tf"), which Terraform rejects. */
  duplicates: string[]
}

export interface Ref {
  /** "aws_type.name", "data.type.name", "var.name" or "local.name" */
  ref: string
  /** Where it was found, e.g. "resource.aws_lambda_function.analytics_api" */
  where: string
}

export function isBody(value: Json | undefined): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** hcl2json gives every block as a one-element list; this unwraps it (a missing block is undefined). */
export function first(value: Json | undefined): Body | undefined {
  if (Array.isArray(value)) return isBody(value[0]) ? value[0] : undefined
  return isBody(value) ? value : undefined
}

export function blocks(value: Json | undefined): Body[] {
  if (Array.isArray(value)) return value.filter(isBody)
  return isBody(value) ? [value] : []
}

function addBlocks(
  target: Map<string, Body>,
  kind: string,
  file: string,
  duplicates: string[],
  byType: Json | undefined,
  twoLevels: boolean,
): void {
  if (!isBody(byType)) return
  for (const [outer, inner] of Object.entries(byType)) {
    const named: Array<[string, Json]> =
      twoLevels && isBody(inner)
        ? Object.entries(inner).map(([name, v]) => [`${outer}.${name}`, v])
        : [[outer, inner]]
    for (const [key, value] of named) {
      const body = first(value)
      if (!body) continue
      if (target.has(key)) duplicates.push(`${kind} ${key} in ${file}`)
      target.set(key, body)
    }
  }
}

export async function parseModel(files: Array<{ name: string; content: string }>): Promise<TfModel> {
  const model: TfModel = {
    resources: new Map(),
    data: new Map(),
    variables: new Map(),
    locals: new Map(),
    outputs: new Map(),
    providers: new Map(),
    duplicates: [],
  }
  for (const { name, content } of files) {
    const json = (await parse(name, content)) as Body
    addBlocks(model.resources, 'resource', name, model.duplicates, json.resource, true)
    addBlocks(model.data, 'data', name, model.duplicates, json.data, true)
    addBlocks(model.variables, 'variable', name, model.duplicates, json.variable, false)
    addBlocks(model.outputs, 'output', name, model.duplicates, json.output, false)
    addBlocks(model.providers, 'provider', name, model.duplicates, json.provider, false)
    for (const block of blocks(json.locals))
      for (const [key, value] of Object.entries(block)) {
        if (model.locals.has(key)) model.duplicates.push(`local ${key} in ${name}`)
        model.locals.set(key, value)
      }
  }
  return model
}

export async function loadInfra(): Promise<{ model: TfModel; files: string[] }> {
  const files = (await readdir(INFRA)).filter((f) => f.endsWith('.tf')).sort()
  const sources = await Promise.all(
    files.map(async (name) => ({ name, content: await readFile(join(INFRA, name), 'utf8') })),
  )
  return { model: await parseModel(sources), files }
}

/** Every string (and object key) in a JSON value, with where it was found. */
export function* strings(value: Json | undefined, where: string): Generator<{ text: string; where: string }> {
  if (typeof value === 'string') yield { text: value, where }
  else if (Array.isArray(value)) for (const v of value) yield* strings(v, where)
  else if (isBody(value))
    for (const [k, v] of Object.entries(value)) {
      yield { text: k, where }
      yield* strings(v, where)
    }
}

/** The `${…}` expressions of a template string; `$${` is an escaped literal and skipped. */
export function expressionsIn(text: string): string[] {
  const found: string[] = []
  let i = 0
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      i += 3
      continue
    }
    if (!text.startsWith('${', i)) {
      i += 1
      continue
    }
    let depth = 1
    let j = i + 2
    while (j < text.length && depth > 0) {
      if (text[j] === '{') depth += 1
      else if (text[j] === '}') depth -= 1
      j += 1
    }
    found.push(text.slice(i + 2, j - 1))
    i = j
  }
  return found
}

/**
 * A template string of the parsed configuration as an HCL string literal: hcl2json gives literal text unescaped
 * (a `\"` of the source is a bare quote), so quotes, backslashes and line breaks outside `${…}` are escaped again
 * for the expression parser; the expressions themselves are kept as written.
 */
function quotedTemplate(text: string): string {
  const escapes: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' }
  let out = '"'
  let i = 0
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '$${'
      i += 3
    } else if (text.startsWith('${', i)) {
      let depth = 1
      let j = i + 2
      while (j < text.length && depth > 0) {
        if (text[j] === '{') depth += 1
        else if (text[j] === '}') depth -= 1
        j += 1
      }
      out += text.slice(i, j)
      i = j
    } else {
      const c = text[i] as string
      out += escapes[c] ?? c
      i += 1
    }
  }
  return `${out}"`
}

// A reference is a traversal root not preceded by an identifier character or a dot (so `data.aws_x.y` is not also
// read as `aws_x.y`, and `$context.requestId` in a log format is not a reference).
const REF_PATTERN =
  /(?<![\w.$-])(data\.[a-z0-9_]+\.[A-Za-z_][\w-]*|aws_[a-z0-9_]+\.[A-Za-z_][\w-]*|var\.[A-Za-z_][\w-]*|local\.[A-Za-z_][\w-]*)/g

/** Normalises a traversal ("data.aws_x.y.json", "aws_x.y.0.id", "var.v") to its declaration's address. */
function declarationOf(traversal: string): string | undefined {
  const parts = traversal.split('.')
  if (parts[0] === 'data') return parts.length >= 3 ? parts.slice(0, 3).join('.') : undefined
  if (parts[0] === 'var' || parts[0] === 'local')
    return parts.length >= 2 ? parts.slice(0, 2).join('.') : undefined
  if (parts[0]?.startsWith('aws_')) return parts.length >= 2 ? parts.slice(0, 2).join('.') : undefined
  return undefined
}

/**
 * The references of one string: a textual scan of its `${…}` expressions, united with the references hcl2json's
 * own expression parser finds (the parser is exact, the scan also sees inside `for` expressions, which the parser's
 * reference finder skips).
 */
export async function referencesIn(text: string): Promise<string[]> {
  const found = new Set<string>()
  const expressions = expressionsIn(text)
  if (expressions.length === 0) return []
  for (const expression of expressions)
    for (const match of expression.matchAll(REF_PATTERN)) {
      const declaration = declarationOf(match[1] ?? '')
      if (declaration) found.add(declaration)
    }
  for (const ref of await getReferencesInExpression('check.tf', quotedTemplate(text))) {
    const declaration = declarationOf(ref.value)
    if (declaration) found.add(declaration)
  }
  return [...found]
}

export function* declaredBlocks(model: TfModel): Generator<{ where: string; body: Json }> {
  for (const [key, body] of model.resources) yield { where: `resource.${key}`, body }
  for (const [key, body] of model.data) yield { where: `data.${key}`, body }
  for (const [key, body] of model.variables) yield { where: `variable.${key}`, body }
  for (const [key, body] of model.outputs) yield { where: `output.${key}`, body }
  for (const [key, body] of model.locals) yield { where: `local.${key}`, body }
  for (const [key, body] of model.providers) yield { where: `provider.${key}`, body }
}

/** Every reference of the configuration, with where it appears. */
export async function allReferences(model: TfModel): Promise<Ref[]> {
  const refs: Ref[] = []
  for (const { where, body } of declaredBlocks(model))
    for (const { text } of strings(body, where))
      for (const ref of await referencesIn(text)) refs.push({ ref, where })
  return refs
}

export function isDeclared(model: TfModel, ref: string): boolean {
  if (ref.startsWith('data.')) return model.data.has(ref.slice('data.'.length))
  if (ref.startsWith('var.')) return model.variables.has(ref.slice('var.'.length))
  if (ref.startsWith('local.')) return model.locals.has(ref.slice('local.'.length))
  return model.resources.has(ref)
}

/** References to nothing declared, as "ref (in where)". */
export async function undeclaredReferences(model: TfModel): Promise<string[]> {
  const refs = await allReferences(model)
  return [
    ...new Set(refs.filter((r) => !isDeclared(model, r.ref)).map((r) => `${r.ref} (in ${r.where})`)),
  ].sort()
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers over the model.

export function resourcesOfType(model: TfModel, type: string): Array<[string, Body]> {
  return [...model.resources].filter(([key]) => key.startsWith(`${type}.`)).map(([key, body]) => [key, body])
}

export function resource(model: TfModel, address: string): Body {
  const body = model.resources.get(address)
  if (!body) throw new Error(`${address} is not declared`)
  return body
}

/** The only resource of a type (its address and body). */
export function only(model: TfModel, type: string): [string, Body] {
  const found = resourcesOfType(model, type)
  expect(
    found.map(([k]) => k),
    `exactly one ${type}`,
  ).toHaveLength(1)
  return found[0] as [string, Body]
}

/** `${aws_x.y.id}` → true when the expression refers to the address. */
export function refersTo(value: Json | undefined, address: string): boolean {
  const pattern = new RegExp(`(?<![\\w.])${address.replaceAll('.', '\\.')}(?![\\w-])`)
  return [...strings(value, '')].some(({ text }) => expressionsIn(text).some((e) => pattern.test(e)))
}

/** The statements of a policy document, `dynamic "statement"` contents included. */
export function statementsOf(doc: Body): Body[] {
  const direct = blocks(doc.statement)
  const dynamic = blocks(first(doc.dynamic)?.statement).flatMap((d) => blocks(d.content))
  return [...direct, ...dynamic]
}

export function stringList(value: Json | undefined): string[] {
  if (typeof value === 'string') return [value]
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

/** The data.aws_iam_policy_document a `policy`/`assume_role_policy` attribute uses. */
export function policyDocument(model: TfModel, value: Json | undefined): [string, Body] {
  const match = typeof value === 'string' ? /data\.aws_iam_policy_document\.([\w-]+)\.json/.exec(value) : null
  const name = match?.[1]
  const doc = name ? model.data.get(`aws_iam_policy_document.${name}`) : undefined
  if (!name || !doc)
    throw new Error(`not a reference to a declared aws_iam_policy_document: ${String(value)}`)
  return [name, doc]
}

// ---------------------------------------------------------------------------------------------------------------
// terraform on PATH

export const CHILD_ENV = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', NO_COLOR: '1' }

export function terraform(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = CHILD_ENV,
): SpawnSyncReturns<string> {
  return spawnSync('terraform', args, { cwd, env, encoding: 'utf8', timeout: 120_000 })
}

export const HAS_TERRAFORM =
  spawnSync('terraform', ['version'], { env: CHILD_ENV, encoding: 'utf8' }).status === 0
if (!HAS_TERRAFORM)
  console.log('test/infra: terraform is not on PATH: skipping fmt -check, console, validate and plan checks')

export const MIRROR = process.env.TF_PLUGIN_MIRROR ?? '/opt/tf-plugins'
export const HAS_MIRROR = existsSync(join(MIRROR, 'registry.terraform.io', 'hashicorp', 'aws'))
if (HAS_TERRAFORM && !HAS_MIRROR)
  console.log(
    `test/infra: no hashicorp/aws provider mirror at ${MIRROR} (TF_PLUGIN_MIRROR): skipping validate and plan`,
  )

// ---------------------------------------------------------------------------------------------------------------
// Offline plans

/** One planned resource instance of `terraform show -json`. */
export interface PlannedChange {
  address: string
  mode: string
  type: string
  change: { actions: string[]; after: Body; after_unknown: Body }
}

/** The parts of `terraform show -json <plan>` the tests read. */
export interface Plan {
  resource_changes: PlannedChange[]
  output_changes: Record<string, { after?: Json; after_unknown?: Json }>
  variables: Record<string, { value: Json }>
  configuration: { root_module: { resources: Array<{ address: string; expressions: Body }> } }
}

export interface PlanResult {
  /** terraform plan's exit status (0 = planned). */
  status: number | null
  stderr: string
  plan?: Plan
}

/** What a planned resource will be (undefined when it is not planned). */
export function planned(plan: Plan | undefined, address: string): Body | undefined {
  return plan?.resource_changes.find((r) => r.address === address)?.change.after
}

/** Which of a planned resource's attributes are known only after apply. */
export function plannedUnknown(plan: Plan | undefined, address: string): Body | undefined {
  return plan?.resource_changes.find((r) => r.address === address)?.change.after_unknown
}

/** The variables every plan needs (infra/variables.tf's required ones, and an admin key). */
export function requiredPlanVars(lambdaZipPath: string): string[] {
  return [
    '-var=vpc_id=vpc-0123456789abcdef0',
    '-var=private_subnet_ids=["subnet-0123456789abcdef0","subnet-0123456789abcdef1"]',
    '-var=private_route_table_ids=["rtb-0123456789abcdef0"]',
    '-var=data_bucket_name=my-analytics-data',
    `-var=lambda_zip_path=${lambdaZipPath}`,
    '-var=admin_api_keys=["an-admin-key-of-20-chars-or-more"]',
  ]
}

/**
 * A copy of infra/ in a temporary directory, initialised from the local provider mirror (linked, not copied;
 * nothing is fetched from the registry). `validate` sees the configuration as it is; the first `plan` adds an
 * override file that keeps plans off the network (fake credentials, no STS for the account id: 123456789012).
 */
export class TerraformWorkspace {
  private offline: Promise<void> | undefined

  private constructor(
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(): Promise<TerraformWorkspace> {
    const dir = await mkdtemp(join(tmpdir(), 'acp-tf-'))
    const files = (await readdir(INFRA)).filter((f) => f.endsWith('.tf'))
    for (const f of files) await writeFile(join(dir, f), await readFile(join(INFRA, f)))
    const cliConfig = join(dir, 'terraform.rc')
    await writeFile(
      cliConfig,
      `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(MIRROR)}\n  }\n}\n`,
    )
    const env = { ...CHILD_ENV, TF_CLI_CONFIG_FILE: cliConfig, AWS_EC2_METADATA_DISABLED: 'true' }
    const init = terraform(['init', '-backend=false', '-input=false'], dir, env)
    expect(init.status, init.stderr).toBe(0)
    return new TerraformWorkspace(dir, env)
  }

  /** Runs terraform in the workspace. */
  run(args: string[]): SpawnSyncReturns<string> {
    return terraform(args, this.dir, this.env)
  }

  /** Plans with the required variables and `extraVars`: the plan as JSON, or terraform's exit status and stderr. */
  async plan(name: string, extraVars: string[] = []): Promise<PlanResult> {
    this.offline ??= (async () => {
      await writeFile(
        join(this.dir, 'zz_offline_override.tf'),
        `provider "aws" {
  access_key                  = "AKIAOFFLINEPLANONLY0"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}
data "aws_caller_identity" "current" {
  count = 0
}
data "aws_partition" "current" {
  count = 0
}
locals {
  account_id = "123456789012"
  partition  = "aws"
}
`,
      )
      await writeFile(join(this.dir, 'lambda.zip'), 'not a real artifact')
    })()
    await this.offline
    const vars = [...requiredPlanVars(join(this.dir, 'lambda.zip')), ...extraVars]
    const out = `${name}.plan`
    const plan = this.run(['plan', '-input=false', '-lock=false', '-no-color', `-out=${out}`, ...vars])
    if (plan.status !== 0) return { status: plan.status, stderr: plan.stderr }
    const show = this.run(['show', '-json', out])
    expect(show.status, show.stderr).toBe(0)
    return { status: 0, stderr: '', plan: JSON.parse(show.stdout) as Plan }
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
  }
}
