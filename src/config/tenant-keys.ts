import { createHash, randomBytes } from 'node:crypto'
import { readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { Document, isMap, isNode, isScalar, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml'
import { ConfigError, NotFoundError } from '../errors.ts'
import { loadCatalog } from './catalog.ts'
import { parseTenants, TENANTS_FILE, type Tenants } from './tenants.ts'

/** Random bytes of a new key: 256 bits, as many as its digest keeps. */
const KEY_BYTES = 32

/** Leave lines as long as they were and flow lists as tight (`["sha256:…"]`): only the changed line should change. */
const FORMAT = { lineWidth: 0, flowCollectionPadding: false } as const

/** A new tenant key and the digest tenants.yaml stores for it. */
export interface NewTenantKey {
  /** The key in plain text: shown once, stored nowhere. */
  key: string
  /** `sha256:<64 hex>`, as `keys:` of tenants.yaml holds it. */
  digest: string
}

/** A fresh random key (`acp_` + 32 random bytes, base64url) and its digest. */
export function newTenantKey(): NewTenantKey {
  const key = `acp_${randomBytes(KEY_BYTES).toString('base64url')}`
  return { key, digest: `sha256:${createHash('sha256').update(key).digest('hex')}` }
}

/**
 * The text of a tenants file with `digest` appended to the keys of tenant `id`, everything else (comments, order,
 * quoting) left as it was: edited through the YAML document, not re-serialized from data. An unknown tenant is a
 * NotFoundError naming the known ones, unless `create` adds it.
 */
export function withTenantKey(
  text: string | undefined,
  file: string,
  id: string,
  digest: string,
  options: { create: boolean },
): { text: string; created: boolean } {
  const doc = text === undefined ? new Document({ tenants: {} }) : parseDocument(text)
  if (doc.errors.length > 0)
    throw new ConfigError(`${file}: not valid YAML (${doc.errors.map((e) => e.message).join('; ')})`)
  const data: unknown = doc.toJS()
  // A file of comments only, or `tenants:` with nothing under it, gets its maps.
  if (data === null || data === undefined) doc.contents = doc.createNode({ tenants: {} })
  else if (typeof data !== 'object' || Array.isArray(data))
    throw new ConfigError(`${file}: expected a mapping with "tenants:" at the top`)
  if (doc.get('tenants') === null || doc.get('tenants') === undefined) doc.set('tenants', doc.createNode({}))
  const tenants = doc.get('tenants', true)
  if (!isMap(tenants)) throw new ConfigError(`${file}: "tenants" must be a mapping of tenant ids`)
  if (!tenants.has(id)) {
    if (!options.create) {
      const known = Object.keys(tenants.toJSON() as Record<string, unknown>)
      throw new NotFoundError(
        `No tenant '${id}' in ${file} (known: ${known.join(', ') || 'none'}); pass --create to add it`,
      )
    }
    const insertion = text === undefined ? undefined : newTenantText(text, tenants, id, digest)
    tenants.set(id, doc.createNode({ keys: [digest] }))
    return { text: spliced(text, insertion, doc) ?? doc.toString(FORMAT), created: true }
  }
  const keys = doc.getIn(['tenants', id, 'keys'], true)
  if (keys !== undefined && keys !== null && !isSeq(keys))
    throw new ConfigError(`${file}: tenant '${id}', keys: must be a list of key digests`)
  const insertion = text === undefined || !keys ? undefined : newKeyText(text, keys, digest)
  if (keys) keys.add(doc.createNode(digest))
  else doc.setIn(['tenants', id, 'keys'], doc.createNode([digest]))
  return { text: spliced(text, insertion, doc) ?? doc.toString(FORMAT), created: false }
}

/** Where to insert what, in the source text. */
interface Insertion {
  offset: number
  text: string
}

/**
 * The source with the insertion, when it means exactly what the edited document does: then no other byte of the
 * file changes (re-serializing would re-space every flow collection). Undefined when it does not, or there is none.
 */
function spliced(
  text: string | undefined,
  insertion: Insertion | undefined,
  edited: Document,
): string | undefined {
  if (text === undefined || insertion === undefined) return undefined
  const next = text.slice(0, insertion.offset) + insertion.text + text.slice(insertion.offset)
  const parsed = parseDocument(next)
  return parsed.errors.length === 0 && isDeepStrictEqual(parsed.toJS(), edited.toJS()) ? next : undefined
}

/** A digest written the way the file writes its first one: double-quoted, single-quoted or plain. */
function written(text: string, like: unknown, digest: string): string {
  const first = isScalar(like) && like.range ? text[like.range[0]] : undefined
  return first === '"' || first === "'" ? `${first}${digest}${first}` : digest
}

/** The start of the line holding `offset`. */
const lineStart = (text: string, offset: number) => text.lastIndexOf('\n', offset - 1) + 1

/** One more item after the last of a key list: `, <digest>` in a flow list, a `- <digest>` line in a block list. */
function newKeyText(text: string, keys: YAMLSeq, digest: string): Insertion | undefined {
  const last = keys.items.at(-1)
  if (!isScalar(last) || !last.range) return undefined
  const item = written(text, keys.items[0], digest)
  if (keys.flow) return { offset: last.range[1], text: `, ${item}` }
  const prefix = text.slice(lineStart(text, last.range[0]), last.range[0])
  if (!/^\s*- $/.test(prefix)) return undefined
  const eol = text.indexOf('\n', last.range[1])
  return { offset: eol === -1 ? text.length : eol, text: `\n${prefix}${item}` }
}

/** A new tenant after the last one of a block mapping, indented like the others. */
function newTenantText(text: string, tenants: YAMLMap, id: string, digest: string): Insertion | undefined {
  const first = tenants.items[0]?.key
  const last = tenants.items.at(-1)?.value
  if (tenants.flow || !isScalar(first) || !first.range || !isNode(last) || !last.range) return undefined
  const indent = text.slice(lineStart(text, first.range[0]), first.range[0])
  if (!/^ +$/.test(indent)) return undefined
  const end = last.range[1]
  const eol = text[end - 1] === '\n' ? end - 1 : text.indexOf('\n', end)
  return {
    offset: eol === -1 ? text.length : eol,
    text: `\n${indent}${id}:\n${indent}  keys: [${JSON.stringify(digest)}]`,
  }
}

/** What `addTenantKey` did. */
export interface AddedKey extends NewTenantKey {
  file: string
  created: boolean
  /** The tenants as the file now defines them. */
  tenants: Tenants
}

/**
 * Adds a new random key to tenant `id` of `<configDir>/tenants.yaml` and returns it (the file holds only its
 * digest). The new text is validated against the catalog before it replaces the file, atomically (write, rename):
 * a file the service would refuse to load is never written.
 */
export async function addTenantKey(
  configDir: string,
  id: string,
  options: { create: boolean },
): Promise<AddedKey> {
  const file = join(configDir, TENANTS_FILE)
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(`${file}: cannot be read (${(err as Error).message})`, { cause: err })
  }
  const catalog = await loadCatalog(configDir)
  const added = newTenantKey()
  const next = withTenantKey(text, file, id, added.digest, options)
  const tenants = parseTenants(parseDocument(next.text).toJS(), file, catalog)
  const temp = `${file}.${process.pid}.tmp`
  // The file may be readable by its owner only: the replacement keeps its permissions.
  const mode = text === undefined ? undefined : (await stat(file)).mode & 0o777
  await writeFile(temp, next.text, mode === undefined ? {} : { mode })
  await rename(temp, file)
  return { ...added, file, created: next.created, tenants }
}
