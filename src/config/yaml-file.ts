import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../errors.ts'

/**
 * Reads and parses a YAML configuration file. A missing optional file is `undefined`; an unreadable or malformed one
 * is a ConfigError naming the file.
 */
export async function readYamlFile(file: string, options: { optional: boolean }): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if (options.optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`${file}: cannot be read (${(err as Error).message})`, { cause: err })
  }
  try {
    return parseYaml(text) as unknown
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML (${(err as Error).message})`, { cause: err })
  }
}
