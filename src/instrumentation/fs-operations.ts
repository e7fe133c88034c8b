/**
 * The fs operations a `file_system` breaker can guard, with what the patcher needs to know
 * about each one's arguments. The callback positions follow how Node itself reads them
 * (lib/fs.js, Node 20-24), so the function we wrap is the one Node will call.
 */

export type FsOperation =
  | 'readFile'
  | 'writeFile'
  | 'appendFile'
  | 'open'
  | 'stat'
  | 'lstat'
  | 'readdir'
  | 'mkdir'
  | 'rm'
  | 'rmdir'
  | 'unlink'
  | 'rename'
  | 'copyFile'
  | 'access';

export interface FsOperationShape {
  readonly name: FsOperation;
  /** How many leading arguments are paths: 2 for rename and copyFile (guarded if either matches). */
  readonly paths: 1 | 2;
  /** Position of the callback Node will call, for the callback form's arguments. */
  callbackIndex(args: readonly unknown[]): number;
  /**
   * Node implements it with its internal rimraf, which calls the public `fs.lstat`,
   * `fs.readdir`, `fs.unlink`, `fs.rmdir`... on later ticks, through our wrappers.
   */
  readonly removesTree: boolean;
}

/** `callback ||= options`: the later argument when given, else the options slot. */
function callbackOrOptions(options: number): (args: readonly unknown[]) => number {
  return (args) => (args[options + 1] ? options + 1 : options);
}

/** `if (typeof options === 'function') callback = options`. */
function optionsIfFunction(options: number): (args: readonly unknown[]) => number {
  return (args) => (typeof args[options] === 'function' ? options : options + 1);
}

function fixed(index: number): (args: readonly unknown[]) => number {
  return () => index;
}

/** `open(path, flags, mode, callback)` counts its arguments: `arguments.length < 3` means `open(path, cb)`. */
function openCallbackIndex(args: readonly unknown[]): number {
  if (args.length < 3) return 1;
  return typeof args[2] === 'function' ? 2 : 3;
}

function shape(name: FsOperation, callbackIndex: (args: readonly unknown[]) => number, paths: 1 | 2 = 1): FsOperationShape {
  return { name, paths, callbackIndex, removesTree: name === 'rm' || name === 'rmdir' };
}

export const FS_OPERATIONS: readonly FsOperationShape[] = [
  shape('readFile', callbackOrOptions(1)),
  shape('writeFile', callbackOrOptions(2)),
  shape('appendFile', callbackOrOptions(2)),
  shape('open', openCallbackIndex),
  shape('stat', optionsIfFunction(1)),
  shape('lstat', optionsIfFunction(1)),
  shape('readdir', optionsIfFunction(1)),
  shape('mkdir', optionsIfFunction(1)),
  shape('rm', optionsIfFunction(1)),
  shape('rmdir', optionsIfFunction(1)),
  shape('unlink', fixed(1)),
  shape('rename', fixed(2), 2),
  shape('copyFile', optionsIfFunction(2), 2),
  shape('access', optionsIfFunction(1)),
];
