import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'

// The text exposition format parsed by the Prometheus project's own Python client (Debian's python3-prometheus-client:
// prometheus_client.parser), a parser nobody here wrote. Its families and samples come back as JSON.

const PYTHON = '/usr/bin/python3'
const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "samples": [
        {"name": s.name, "labels": s.labels, "value": None if math.isnan(s.value) else s.value} for s in f.samples]})
print(json.dumps(out))
`

/** Whether the parser is installed; the reason it is not, otherwise. */
export function prometheusParserMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`
  return existsSync('/usr/lib/python3/dist-packages/prometheus_client/parser.py')
    ? undefined
    : 'the Prometheus client parser is missing (apt-get install python3-prometheus-client)'
}

export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number | null
}

export interface PromFamily {
  name: string
  type: string
  samples: PromSample[]
}

/** Parses `text`; a line the format does not allow fails (the parser raises, the promise rejects). */
export async function parsePrometheusText(text: string): Promise<PromFamily[]> {
  const child = promisify(execFile)(PYTHON, ['-c', SCRIPT], { maxBuffer: 64 * 1024 * 1024 })
  child.child.stdin?.end(text)
  const { stdout } = await child
  return JSON.parse(stdout) as PromFamily[]
}

/** The value of the sample named `name` (a family's sample, e.g. `x_total`, `x_bucket`) with these labels. */
export function sampleValue(
  families: readonly PromFamily[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families)
    for (const s of f.samples)
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        return s.value ?? undefined
  return undefined
}
