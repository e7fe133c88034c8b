import { asMap, joinPath, readBoolean, readDuration, reportUnknownKey } from './checks';
import type { Problems } from './problems';
import {
  DEFAULT_FLEET_HEARTBEAT_MS,
  DEFAULT_FLEET_QUORUM,
  DEFAULT_FLEET_URL,
  ENV_NATS_URL,
  ENV_SERVICE_NAME,
  FLEET_KEYS,
  MIN_FLEET_HEARTBEAT_MS,
} from './schema';
import { didYouMean } from './suggest';
import { toPlain, type TreeNode } from './tree';
import type { BreakerConfig, FleetConfig } from './types';

/** A fleet larger than this is a typo (or a unit mix-up) rather than a real quorum. */
const MAX_QUORUM = 10_000;

/** The fleet name is one token of the NATS subjects the members talk on. */
const FLEET_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const FLEET_NAME_EXPECTED = 'letters, digits, "-" and "_" only (at most 64): it is part of a NATS subject';
const QUORUM_EXPECTED =
  `a whole number from 2 to ${MAX_QUORUM}, or a percentage of the members like "50%" (from 1% to 100%);` +
  ' a quorum of 1 would let one instance with a bad path of its own open the breaker for the whole fleet';
const URL_EXPECTED = 'NATS server addresses, comma-separated: nats://host:port (or tls://, ws://, wss://, or host:port)';
const SERVER_RE = /^(?:(?:nats|tls|ws|wss):\/\/[^\s,/]+(?:\/[^\s,]*)?|[^\s,:/]+:\d{1,5})$/;

interface FleetContext {
  readonly env: NodeJS.ProcessEnv;
  readonly problems: Problems;
}

/**
 * Validates `fleet:` (`node` at `path`, null when absent) against the configured breakers.
 * The name is required only when fleet mode is on: a section left in place while switched
 * off must not stop the app.
 */
export function validateFleet(node: TreeNode | null, path: string, breakers: readonly BreakerConfig[], ctx: FleetContext): FleetConfig {
  const { problems, env } = ctx;
  const map = node === null ? undefined : asMap(node, path, problems, `a mapping with ${FLEET_KEYS.join(', ')}`);
  const entries = map?.entries ?? [];
  for (const e of entries) {
    if (!(FLEET_KEYS as readonly string[]).includes(e.key)) reportUnknownKey(e, joinPath(path, e.key), FLEET_KEYS, problems);
  }
  const entry = (key: string) => entries.find((e) => e.key === key);
  const at = (key: string) => joinPath(path, key);

  const enabledEntry = entry('enabled');
  const enabled = enabledEntry === undefined ? false : (readBoolean(enabledEntry.value, at('enabled'), problems) ?? false);

  const urlEntry = entry('url');
  const url = urlEntry !== undefined ? readUrl(urlEntry.value, at('url'), problems) : (urlFromEnv(env, problems) ?? DEFAULT_FLEET_URL);

  const nameEntry = entry('name');
  let name = '';
  if (nameEntry !== undefined) {
    name = readFleetName(nameEntry.value, at('name'), problems) ?? '';
  } else {
    const fromEnv = env[ENV_SERVICE_NAME]?.trim();
    if (fromEnv) {
      if (FLEET_NAME_RE.test(fromEnv)) name = fromEnv;
      else if (enabled)
        problems.addEnv(
          ENV_SERVICE_NAME,
          env[ENV_SERVICE_NAME],
          `a fleet name: ${FLEET_NAME_EXPECTED}`,
          'or set circuit_breakers.fleet.name',
        );
    } else if (enabled) {
      problems.add(
        map?.line ?? null,
        at('name'),
        undefined,
        `the fleet's name (every instance of one service uses the same one)`,
        `set fleet.name, or ${ENV_SERVICE_NAME} in the environment`,
      );
    }
  }

  const quorumEntry = entry('quorum');
  const quorum = (quorumEntry === undefined ? undefined : readQuorum(quorumEntry.value, at('quorum'), problems)) ?? {
    count: DEFAULT_FLEET_QUORUM,
    percent: null,
  };

  const heartbeatEntry = entry('heartbeat');
  let heartbeatMs = DEFAULT_FLEET_HEARTBEAT_MS;
  if (heartbeatEntry !== undefined) {
    const ms = readDuration(heartbeatEntry.value, at('heartbeat'), problems);
    if (ms !== undefined && ms < MIN_FLEET_HEARTBEAT_MS) {
      problems.add(
        heartbeatEntry.value.line,
        at('heartbeat'),
        toPlain(heartbeatEntry.value),
        `a duration of at least ${MIN_FLEET_HEARTBEAT_MS} ms`,
      );
    } else if (ms !== undefined) {
      heartbeatMs = ms;
    }
  }

  const breakersEntry = entry('breakers');
  const shared =
    breakersEntry === undefined
      ? breakers.filter((b) => b.module !== 'nats').map((b) => b.name)
      : readBreakerNames(breakersEntry.value, at('breakers'), breakers, problems);

  return { enabled, url, name, quorum, heartbeatMs, breakers: shared };
}

function readUrl(node: TreeNode, path: string, problems: Problems): string {
  const v = node.kind === 'scalar' ? node.value : toPlain(node);
  if (typeof v === 'string' && isServerList(v)) return v.trim();
  problems.add(node.line, path, v, URL_EXPECTED);
  return DEFAULT_FLEET_URL;
}

function urlFromEnv(env: NodeJS.ProcessEnv, problems: Problems): string | undefined {
  const raw = env[ENV_NATS_URL]?.trim();
  if (!raw) return undefined;
  if (isServerList(raw)) return raw;
  problems.addEnv(ENV_NATS_URL, env[ENV_NATS_URL], URL_EXPECTED, 'or set circuit_breakers.fleet.url');
  return undefined;
}

function isServerList(v: string): boolean {
  const parts = v.split(',').map((s) => s.trim());
  return parts.length > 0 && parts.every((s) => SERVER_RE.test(s));
}

function readFleetName(node: TreeNode, path: string, problems: Problems): string | undefined {
  const v = node.kind === 'scalar' ? node.value : toPlain(node);
  if (typeof v === 'string' && FLEET_NAME_RE.test(v.trim())) return v.trim();
  problems.add(node.line, path, v, FLEET_NAME_EXPECTED);
  return undefined;
}

function readQuorum(node: TreeNode, path: string, problems: Problems): FleetConfig['quorum'] | undefined {
  const v = node.kind === 'scalar' ? node.value : toPlain(node);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 2 && v <= MAX_QUORUM) return { count: v, percent: null };
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(v.trim());
    const percent = m ? Number(m[1]) : NaN;
    if (percent >= 1 && percent <= 100) return { count: null, percent };
  }
  problems.add(node.line, path, v, QUORUM_EXPECTED);
  return undefined;
}

function readBreakerNames(node: TreeNode, path: string, breakers: readonly BreakerConfig[], problems: Problems): string[] {
  const names = breakers.map((b) => b.name);
  const known = names.length === 0 ? 'none are configured' : `one of: ${names.join(', ')}`;
  if (node.kind !== 'seq' || node.items.length === 0) {
    problems.add(node.line, path, toPlain(node), `a non-empty list of configured breaker names (${known})`);
    return [];
  }
  const out: string[] = [];
  node.items.forEach((item, i) => {
    const v = item.kind === 'scalar' ? item.value : toPlain(item);
    if (typeof v === 'string' && names.includes(v)) {
      if (!out.includes(v)) out.push(v);
      return;
    }
    const guess = typeof v === 'string' ? didYouMean(v, names) : undefined;
    problems.add(
      item.line,
      `${path}[${i}]`,
      v,
      `a configured breaker name (${known})`,
      guess === undefined ? undefined : `did you mean "${guess}"?`,
    );
  });
  return out;
}
