import type { Command } from 'commander'
import { type Env, loadConfig } from '../config/load-config.ts'

interface ConfigDirOption {
  configDir?: string
}

const configDirOption = (cmd: Command) =>
  cmd.option(
    '-c, --config-dir <dir>',
    'configuration directory (default: CONFIG_DIR or ./wrangler-free-config)',
  )

/** `acp tenants add-key` and `acp tenants list`; `env` goes to the configuration loader only. */
export function registerTenantCommands(program: Command, env: Env): void {
  const tenants = program.command('tenants').description('the tenants of tenants.yaml and their keys')

  configDirOption(
    tenants
      .command('add-key <tenant>')
      .description('add a new random key to a tenant and print it (once: the file keeps only its digest)')
      .option('--create', 'add the tenant when tenants.yaml does not have it'),
  ).action(async (tenant: string, opts: ConfigDirOption & { create?: boolean }) => {
    const { addTenantKey } = await import('../config/tenant-keys.ts')
    const { configDir } = loadConfig(env, opts.configDir ? { configDir: opts.configDir } : {})
    const added = await addTenantKey(configDir, tenant, { create: opts.create ?? false })
    const keys = added.tenants.byId.get(tenant)?.keyDigests.length ?? 0
    process.stderr.write(
      `${added.created ? 'created tenant' : 'added a key to tenant'} '${tenant}' in ${added.file} (${keys} key${keys === 1 ? '' : 's'}); the key is shown only now:\n`,
    )
    process.stdout.write(`${added.key}\n`)
  })

  configDirOption(
    tenants
      .command('list')
      .description('list the tenants: their number of keys, bound parameters and queries'),
  ).action(async (opts: ConfigDirOption) => {
    const { loadSettings } = await import('../config/settings.ts')
    const settings = await loadSettings(env, opts.configDir ? { configDir: opts.configDir } : {})
    if (settings.tenants.byId.size === 0) process.stderr.write('no tenants (no tenants.yaml)\n')
    for (const t of settings.tenants.byId.values()) {
      const n = t.keyDigests.length
      const parameters = Object.entries(t.parameters).map(([k, v]) => `${k}=${v}`)
      const queries = t.queries ? [...t.queries].join(',') : 'all'
      process.stdout.write(
        `${t.id}  ${n} key${n === 1 ? '' : 's'}  parameters: ${parameters.join(' ') || '-'}  queries: ${queries}\n`,
      )
    }
  })
}
