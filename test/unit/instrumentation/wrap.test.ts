import { expect } from 'chai';
import { isWrapped, unwrap, wrap } from '../../../src/instrumentation/wrap';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** What shimmer (and so every contrib instrumentation) does: replace the property, keeping the original. */
function theirWrap(target: Record<string, Fn>, name: string, tag: string, calls: string[]): void {
  const original = target[name];
  target[name] = function (this: unknown, ...args: unknown[]) {
    calls.push(tag);
    return original.apply(this, args);
  };
}

function ourFactory(tag: string, calls: string[]) {
  return (original: Fn): Fn =>
    function (this: unknown, ...args: unknown[]) {
      calls.push(tag);
      return original.apply(this, args);
    };
}

describe('wrap/unwrap next to other instrumentations', () => {
  it('restores the original when ours is still on top', () => {
    const calls: string[] = [];
    const original = function query(a: unknown) {
      return a;
    };
    const target: Record<string, Fn> = { query: original };
    wrap(target, 'query', ourFactory('ours', calls));
    expect(target.query(1)).to.equal(1);
    expect(target.query.name).to.equal('query');
    unwrap(target, 'query');
    expect(target.query).to.equal(original);
    expect(isWrapped(target, 'query')).to.equal(false);
  });

  it('keeps a wrapper another tool put on top of ours, and ours only passes calls through afterwards', () => {
    const calls: string[] = [];
    const target: Record<string, Fn> = { query: (a: unknown) => a };
    wrap(target, 'query', ourFactory('ours', calls));
    theirWrap(target, 'query', 'theirs', calls);
    const theirs = target.query;
    expect(target.query('x')).to.equal('x');
    expect(calls).to.deep.equal(['theirs', 'ours']);

    calls.length = 0;
    unwrap(target, 'query');
    expect(target.query, 'their wrapper survives our unwrap').to.equal(theirs);
    expect(target.query('y')).to.equal('y');
    expect(calls, 'ours is out of the way').to.deep.equal(['theirs']);

    // Enabled again: ours goes on top once more, theirs (and our inert one) below.
    calls.length = 0;
    wrap(target, 'query', ourFactory('ours again', calls));
    expect(target.query('z')).to.equal('z');
    expect(calls).to.deep.equal(['ours again', 'theirs']);
  });

  it('applies the same rule to getter-only exports', () => {
    const calls: string[] = [];
    const original = (a: unknown) => a;
    const target = {} as Record<string, Fn>;
    Object.defineProperty(target, 'connect', { get: () => original, enumerable: true, configurable: true });
    wrap(target, 'connect', ourFactory('ours', calls));
    const ourGetterValue = target.connect;
    const theirs: Fn = function (this: unknown, ...args: unknown[]) {
      calls.push('theirs');
      return ourGetterValue.apply(this, args);
    };
    Object.defineProperty(target, 'connect', { get: () => theirs, enumerable: true, configurable: true });
    unwrap(target, 'connect');
    expect(target.connect).to.equal(theirs);
    expect(target.connect(5)).to.equal(5);
    expect(calls).to.deep.equal(['theirs']);
  });
});
