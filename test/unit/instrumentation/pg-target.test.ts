import { expect } from 'chai';
import pg from 'pg';
import { clientTarget, findConnectionParameters, formatTarget, poolTarget } from '../../../src/instrumentation/pg-target';

describe('pg patcher: per-target keys', () => {
  it('formats host:port/database, falling back to the user as pg does for the database', () => {
    expect(formatTarget({ host: 'db.internal', port: 5433, database: 'app' })).to.equal('db.internal:5433/app');
    expect(formatTarget({ host: '/var/run/postgresql', port: 5432, user: 'me' })).to.equal('/var/run/postgresql:5432/me');
  });

  it('keys a client by the parameters it resolved, computed once', () => {
    const client = new pg.Client({ host: '10.0.0.1', port: 6432, database: 'orders', user: 'u' });
    expect(clientTarget(client)).to.equal('10.0.0.1:6432/orders');
    (client as unknown as { host: string }).host = 'changed';
    expect(clientTarget(client)).to.equal('10.0.0.1:6432/orders');
  });

  it("keys a pool the way its clients will resolve it, using pg's own ConnectionParameters", () => {
    const Params = findConnectionParameters(pg.Client);
    expect(Params).to.be.a('function');
    const pool = new pg.Pool({ connectionString: 'postgres://u@db.example:6543/shop' });
    expect(poolTarget(pool, Params)).to.equal('db.example:6543/shop');
    const client = new pg.Client(pool.options);
    expect(poolTarget(new pg.Pool(pool.options), Params)).to.equal(clientTarget(client));
  });

  it("falls back to the plain options without pg's ConnectionParameters", () => {
    const pool = { options: { host: 'h', port: 1, database: 'd' } };
    expect(poolTarget(pool, null)).to.equal('h:1/d');
    expect(findConnectionParameters(function NotPg() {})).to.equal(null);
  });
});
