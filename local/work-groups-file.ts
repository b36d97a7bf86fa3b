import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { ValidationError } from '../src/errors.ts'
import { parseConfig, type WorkGroupConfig } from './work-groups.ts'

const fileShape = z.union([z.array(z.unknown()), z.object({ workGroups: z.array(z.unknown()) })])

/**
 * Reads the work groups of `acp local-athena --work-groups <file>`: YAML or JSON (JSON is YAML), either a list of
 * work groups or `{ workGroups: [...] }`, each as `startLocalAthena`'s `workGroups` option takes them.
 */
export async function readWorkGroupsFile(file: string): Promise<WorkGroupConfig[]> {
  let parsed: unknown
  try {
    parsed = parseYaml(await readFile(file, 'utf8'))
  } catch (err) {
    throw new ValidationError(`${file}: cannot be read as YAML or JSON (${(err as Error).message})`)
  }
  const shape = fileShape.safeParse(parsed)
  if (!shape.success)
    throw new ValidationError(`${file}: expected a list of work groups or { workGroups: [...] }`)
  const entries = Array.isArray(shape.data) ? shape.data : shape.data.workGroups
  try {
    return entries.map(parseConfig)
  } catch (err) {
    throw new ValidationError(`${file}: ${(err as Error).message}`)
  }
}
