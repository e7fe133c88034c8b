import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import { isWrappedInherited, unwrapInherited, wrapInherited } from '../../../src/instrumentation/ws-inherited';

class Child extends EventEmitter {}

function keysFor(o: object): string[] {
  const keys: string[] = [];

  for (const k in o) keys.push(k);
  return keys.sort();
}

describe('ws patcher helpers: wrapping an inherited method', () => {
  afterEach(() => unwrapInherited(Child.prototype, 'emit'));

  it('wraps it for instances of the subclass only, and restores the prototype exactly', () => {
    const seen: unknown[] = [];
    const before = Object.getOwnPropertyNames(Child.prototype);
    const forInBefore = keysFor(new Child());
    expect(
      wrapInherited(
        Child.prototype,
        'emit',
        (parent) =>
          function (this: unknown, ...args: unknown[]) {
            seen.push(args[0]);
            return (parent as EventEmitter).emit.apply(this, args as [string]);
          },
      ),
    ).to.equal(true);
    expect(isWrappedInherited(Child.prototype, 'emit')).to.equal(true);
    expect(Child.prototype.emit.name).to.equal('emit');
    expect(Child.prototype.emit.length).to.equal(EventEmitter.prototype.emit.length);
    expect(keysFor(new Child())).to.deep.equal(forInBefore);

    const child = new Child();
    let got: unknown;
    child.on('x', (v) => (got = v));
    expect(child.emit('x', 1)).to.equal(true);
    expect(got).to.equal(1);
    expect(new EventEmitter().emit('y')).to.equal(false);
    expect(seen).to.deep.equal(['x']);

    unwrapInherited(Child.prototype, 'emit');
    expect(Object.getOwnPropertyNames(Child.prototype)).to.deep.equal(before);
    expect(Child.prototype.emit).to.equal(EventEmitter.prototype.emit);
  });

  it('is idempotent and refuses a method the prototype owns', () => {
    let made = 0;
    const factory = (parent: object) => {
      made++;
      return function (this: unknown, ...args: unknown[]) {
        return (parent as EventEmitter).emit.apply(this, args as [string]);
      };
    };
    wrapInherited(Child.prototype, 'emit', factory);
    wrapInherited(Child.prototype, 'emit', factory);
    expect(made).to.equal(1);
    class Owner extends EventEmitter {
      override emit(): boolean {
        return false;
      }
    }
    expect(wrapInherited(Owner.prototype, 'emit', factory)).to.equal(false);
  });

  it('calls the parent method current at call time', () => {
    wrapInherited(
      Child.prototype,
      'emit',
      (parent) =>
        function (this: unknown, ...args: unknown[]) {
          return (parent as EventEmitter).emit.apply(this, args as [string]);
        },
    );
    const original = EventEmitter.prototype.emit;
    let calls = 0;
    EventEmitter.prototype.emit = function (this: EventEmitter, ...args: [string]) {
      calls++;
      return original.apply(this, args);
    };
    try {
      new Child().emit('z');
    } finally {
      EventEmitter.prototype.emit = original;
    }
    expect(calls).to.equal(1);
  });
});
