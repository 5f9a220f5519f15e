/**
 * A leaner AsyncResource#bind for the proxy process.
 *
 * Node 20's ClientHttp2Session#request() wraps the start of every request in
 * `new AsyncResource('PendingRequest').bind(…)`, and Node's bind() also defines the deprecated
 * `asyncResource` accessors (DEP0172) on each bound function, building two `deprecate()` wrappers
 * per call. In the client proxy's profile that is ~5 % of its CPU per request (2 hops with mTLS:
 * `deprecate` 3.1 %, `bind` 2.3 %), spent on properties nothing reads.
 *
 * installLeanAsyncBind() replaces AsyncResource.prototype.bind, in `weft proxy` only, with the same
 * binding without those accessors: the bound function still runs in the resource's async scope
 * (AsyncLocalStorage, async_hooks), with the same `this` and arguments, and the same `length`.
 */
import { AsyncResource } from 'node:async_hooks';

type AnyFn = (this: unknown, ...args: unknown[]) => unknown;

function leanBind(this: AsyncResource, fn: AnyFn, thisArg?: unknown): AnyFn {
  return bindIn(this, fn, thisArg);
}

function bindIn(resource: AsyncResource, fn: AnyFn, thisArg: unknown): AnyFn {
  if (typeof fn !== 'function') {
    throw Object.assign(new TypeError(`The "fn" argument must be of type function. Received ${fn === null ? 'null' : typeof fn}`), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  const bound: AnyFn =
    thisArg === undefined
      ? function (this: unknown, ...args: unknown[]): unknown {
          return resource.runInAsyncScope(fn, this, ...args);
        }
      : (...args: unknown[]): unknown => resource.runInAsyncScope(fn, thisArg, ...args);
  Object.defineProperty(bound, 'length', { configurable: true, enumerable: false, value: fn.length, writable: false });
  return bound;
}

/** Installs the lean bind (idempotent); returns false when it was already installed. */
export function installLeanAsyncBind(): boolean {
  const proto = AsyncResource.prototype as unknown as { bind: unknown };
  if (proto.bind === leanBind) return false;
  proto.bind = leanBind;
  return true;
}
