import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { expect } from 'chai';
import { freePort } from '../helpers/free-port';
import { checkService, natsAvailable, pgBinDir, postgresAvailable, requireService, servicesRequired } from '../helpers/require-services';

/** A stand-in for mocha's `this`, recording whether the hook asked to skip. */
function fakeContext(): { ctx: Mocha.Context; skipped: () => boolean } {
  let skipped = false;
  const ctx = {
    skip(): never {
      skipped = true;
      throw new Error('skip() called');
    },
  } as unknown as Mocha.Context;
  return { ctx, skipped: () => skipped };
}

/** Runs `fn` with some environment variables set (undefined deletes), then restores them. */
async function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    await fn();
  } finally {
    apply(saved);
  }
}

/** A TCP server that writes `greeting` to every connection. */
async function greeter(greeting: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.end(greeting));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const failing = async (): Promise<void> => {
  throw new Error('not there');
};

describe('test helpers: free-port and require-services', () => {
  describe('freePort()', () => {
    it('returns a loopback port nothing listens on, which can then be bound', async () => {
      const port = await freePort();
      expect(port).to.be.within(1, 65535);
      const refused = await new Promise<string>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.once('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(refused).to.equal('ECONNREFUSED');
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    });

    it('hands out different ports to concurrent callers', async () => {
      const ports = await Promise.all(Array.from({ length: 10 }, () => freePort()));
      expect(new Set(ports).size).to.be.greaterThan(1);
    });
  });

  describe('servicesRequired()', () => {
    it('is off on a developer machine and on in CI', () => {
      expect(servicesRequired({})).to.equal(false);
      expect(servicesRequired({ CI: 'true' })).to.equal(true);
      expect(servicesRequired({ CI: '1' })).to.equal(true);
      expect(servicesRequired({ CI: 'false' })).to.equal(false);
      expect(servicesRequired({ CI: '0' })).to.equal(false);
    });

    it('follows BREAKERBOX_REQUIRE_SERVICES over CI', () => {
      expect(servicesRequired({ BREAKERBOX_REQUIRE_SERVICES: '1' })).to.equal(true);
      expect(servicesRequired({ CI: 'true', BREAKERBOX_REQUIRE_SERVICES: '0' })).to.equal(false);
      expect(servicesRequired({ CI: 'true', BREAKERBOX_REQUIRE_SERVICES: '' })).to.equal(true);
    });
  });

  describe('requireService() / checkService()', () => {
    it('lets the suite run when the check passes', async () => {
      const { ctx, skipped } = fakeContext();
      await requireService('ok', async () => undefined).call(ctx);
      expect(skipped()).to.equal(false);
    });

    it('skips when the service is missing outside CI', async () => {
      await withEnv({ CI: undefined, BREAKERBOX_REQUIRE_SERVICES: undefined }, async () => {
        const { ctx, skipped } = fakeContext();
        const warn = console.warn;
        console.warn = () => undefined;
        try {
          await checkService(ctx, 'thing', failing).catch(() => undefined);
        } finally {
          console.warn = warn;
        }
        expect(skipped()).to.equal(true);
      });
    });

    it('fails with a message naming the service and the reason when services are required', async () => {
      await withEnv({ CI: 'true', BREAKERBOX_REQUIRE_SERVICES: undefined }, async () => {
        const { ctx, skipped } = fakeContext();
        let message = '';
        await checkService(ctx, 'thing', failing).catch((err: Error) => {
          message = err.message;
        });
        expect(skipped()).to.equal(false);
        expect(message).to.match(/required service "thing" is unavailable: not there/);
      });
    });
  });

  describe('postgresAvailable()', () => {
    it('resolves for the shared server', async function () {
      await checkService(this, 'postgres', postgresAvailable);
    });

    it('rejects quickly for a port nothing listens on', async () => {
      const started = Date.now();
      let error: Error | undefined;
      await postgresAvailable({ port: await freePort() }).catch((err: Error) => {
        error = err;
      });
      expect((error as NodeJS.ErrnoException | undefined)?.code).to.equal('ECONNREFUSED');
      expect(Date.now() - started).to.be.lessThan(2_500);
    });
  });

  describe('natsAvailable()', () => {
    it('resolves for a server that greets like NATS', async () => {
      const fake = await greeter('INFO {"server_id":"fake"}\r\n');
      try {
        await natsAvailable({ port: fake.port });
      } finally {
        await fake.close();
      }
    });

    it('rejects a server that is not NATS, and a closed port', async () => {
      const http = await greeter('HTTP/1.1 400 Bad Request\r\n\r\n');
      try {
        const err = await natsAvailable({ port: http.port }).then(
          () => null,
          (e: Error) => e,
        );
        expect(err?.message).to.match(/not a NATS server/);
      } finally {
        await http.close();
      }
      const refused = await natsAvailable({ port: await freePort() }).then(
        () => null,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(refused?.code).to.equal('ECONNREFUSED');
    });

    it('resolves for the shared server', async function () {
      await checkService(this, 'nats', natsAvailable);
    });
  });

  describe('pgBinDir()', () => {
    it('finds initdb, pg_ctl and postgres', function () {
      let dir: string;
      try {
        dir = pgBinDir();
      } catch (err) {
        if (servicesRequired()) throw err;
        this.skip();
      }
      for (const bin of ['initdb', 'pg_ctl', 'postgres']) expect(fs.existsSync(path.join(dir, bin)), bin).to.equal(true);
    });
  });
});
