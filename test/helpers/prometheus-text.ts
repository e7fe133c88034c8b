/**
 * Reads the Prometheus text exposition the way a scraper does, so tests assert on series
 * and labels rather than on exact lines (label order, scope labels, float formatting).
 *
 * @example
 *   const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
 *   const calls = findSamples(parsePrometheus(text), 'circuit_breaker_calls_total', { breaker: 'auth', outcome: 'success' });
 */

export interface Sample {
  /** Sample name as written, e.g. `circuit_breaker_call_duration_seconds_bucket`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family name → type from its `# TYPE` line. */
  types: Map<string, string>;
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseValue(raw: string): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  return Number(raw);
}

export function parsePrometheus(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m) types.set(m[1], m[2]);
      continue;
    }
    const m = SAMPLE_RE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL_RE)) labels[l[1]] = unescape(l[2]);
    samples.push({ name: m[1], labels, value: parseValue(m[3]) });
  }
  return { samples, types };
}

/** Samples named `name` whose labels include every pair in `labels`. */
export function findSamples(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample matching; throws (listing what there is) when not exactly one. */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = findSamples(exposition, name, labels);
  if (found.length !== 1) {
    const have = exposition.samples.filter((s) => s.name === name).map((s) => JSON.stringify(s.labels));
    throw new Error(
      `expected one ${name} sample with ${JSON.stringify(labels)}, found ${found.length}; ${name} samples:\n${have.join('\n')}`,
    );
  }
  return found[0].value;
}
