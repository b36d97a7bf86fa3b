import { join } from 'node:path'
import { type Catalog, loadCatalog } from './catalog.ts'
import { type LandingSettings, loadLandingSettings } from './landing.ts'
import { type AppConfig, type Env, type LoadConfigOptions, loadConfig } from './load-config.ts'
import { loadPrewarmSettings, type PrewarmSettings } from './prewarm.ts'
import { checkScheduleCoverage, loadSchedules, SCHEDULES_FILE, type ScheduleDef } from './schedules.ts'
import { loadTenantsFromSource } from './tenant-source.ts'
import { loadTenants, type Tenants } from './tenants.ts'

/**
 * Everything the service is configured with: the environment (AppConfig) and the files of CONFIG_DIR, validated
 * against each other. Built once per process by `loadSettings` and frozen; entry points read nothing else.
 */
export interface Settings extends AppConfig {
  /** `queries.yaml`: the only SQL the service runs. */
  readonly catalog: Catalog
  /** `prewarm.yaml` (defaults when absent); its sets name only catalog queries and parameters. */
  readonly prewarm: PrewarmSettings
  /** `schedules.yaml` (none when absent); each names only catalog queries and tags. */
  readonly schedules: readonly ScheduleDef[]
  /** `tenants.yaml` (none when absent): keys by digest and the values their reads are bound to. */
  readonly tenants: Tenants
  /** `landing.yaml` (undefined when absent: landing events are refused): where each table's data lands. */
  readonly landing: LandingSettings | undefined
}

/** Per entry point defaults (`defaultEngine`…), `configDir` (the CLI's `--config-dir`) and `requiredEnv`. */
export type LoadSettingsOptions = LoadConfigOptions

/** The files of a configuration directory, each checked against the catalog. */
export interface ConfigFiles {
  catalog: Catalog
  prewarm: PrewarmSettings
  schedules: readonly ScheduleDef[]
  tenants: Tenants
  landing: LandingSettings | undefined
}

/**
 * Reads `queries.yaml`, `prewarm.yaml`, `schedules.yaml`, `tenants.yaml` and `landing.yaml` from `configDir` and
 * cross-checks them: a prewarm set or a schedule naming what the catalog does not have is a ConfigError naming the
 * file and the entry.
 * `tenantsFrom` replaces `tenants.yaml` (TENANTS_SOURCE: the text read from SSM or Secrets Manager).
 */
export async function loadConfigFiles(
  configDir: string,
  tenantsFrom: (catalog: Catalog) => Promise<Tenants> = (catalog) => loadTenants(configDir, catalog),
): Promise<ConfigFiles> {
  const catalog = await loadCatalog(configDir)
  const [prewarm, schedules, tenants, landing] = await Promise.all([
    loadPrewarmSettings(configDir, catalog),
    loadSchedules(configDir),
    tenantsFrom(catalog),
    loadLandingSettings(configDir),
  ])
  checkScheduleCoverage(schedules, catalog, join(configDir, SCHEDULES_FILE))
  return { catalog, prewarm, schedules, tenants, landing }
}

/**
 * The one configuration loader: parses the environment (`loadConfig`), loads and cross-validates the files of
 * CONFIG_DIR (the tenants from TENANTS_SOURCE when it is set: one read per call, and so per process), and returns
 * the result frozen. Any problem is a ConfigError naming the variable, the file or source, and the entry.
 */
export async function loadSettings(env: Env, options: LoadSettingsOptions = {}): Promise<Settings> {
  const config = loadConfig(env, options)
  const source = config.secrets.tenantsSource
  const files = await loadConfigFiles(
    config.configDir,
    source ? (catalog) => loadTenantsFromSource(source, config.secrets, env, catalog) : undefined,
  )
  return deepFreeze({ ...config, ...files })
}

/**
 * Freezes plain objects, arrays and the values of maps, all the way down: settings are read by every request, so a
 * stray write would change the service for everyone. (A Map itself cannot be frozen; its type is ReadonlyMap.)
 * Class instances are left alone: a frozen RegExp (a string parameter's compiled pattern) has a read-only
 * lastIndex, which sends every match down V8's slow generic path.
 */
function deepFreeze<T>(value: T): T {
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null || Object.isFrozen(node)) return
    if (node instanceof Map) {
      for (const v of node.values()) visit(v)
      return
    }
    const proto: unknown = Object.getPrototypeOf(node)
    if (!Array.isArray(node) && proto !== Object.prototype && proto !== null) return
    Object.freeze(node)
    for (const v of Object.values(node)) visit(v)
  }
  visit(value)
  return value
}
