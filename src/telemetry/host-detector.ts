import { arch, hostname } from 'node:os';
import { hostDetector, type DetectedResource, type DetectedResourceAttributes, type ResourceDetector } from '@opentelemetry/resources';

/** host.arch as the semantic conventions spell Node's `os.arch()` names. */
const ARCH: Readonly<Record<string, string>> = { arm: 'arm32', ppc: 'ppc32', x64: 'amd64' };

/**
 * A promise whose work starts when something first waits for it. The resource attaches a
 * `catch` to every pending attribute as soon as it holds it, so `catch` must not start it.
 */
class OnFirstWait<T> implements PromiseLike<T> {
  private started: Promise<T> | null = null;

  constructor(private readonly work: () => T | PromiseLike<T>) {}

  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.started ??= Promise.resolve().then(this.work);
    return this.started.then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected: (reason: unknown) => B | PromiseLike<B>): OnFirstWait<T | B> {
    return new OnFirstWait(() => this.then(undefined, onRejected));
  }
}

/**
 * The host attributes the library's host detector gives, with `host.id` read when an exporter
 * first waits for the resource (a push exporter's first export) rather than at start-up: the
 * library reads it through a dynamic `import()`, which starts Node's ES-module loader in every
 * CommonJS app under the preload. Nothing waits for it on `/metrics`, before or now, so
 * Prometheus's target_info never had `host_id`.
 */
export class DeferredHostDetector implements ResourceDetector {
  detect(): DetectedResource {
    const attributes: DetectedResourceAttributes = {
      'host.name': hostname(),
      'host.arch': ARCH[arch()] ?? arch(),
      'host.id': new OnFirstWait(() => hostDetector.detect().attributes?.['host.id']) as unknown as Promise<string | undefined>,
    };
    return { attributes };
  }
}
