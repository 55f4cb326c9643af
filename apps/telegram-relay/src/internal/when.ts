/**
 * Middleware for the updates a predicate accepts (the others go on to the next), as grammY's
 * `filter`, `on`, `command` and `callbackQuery` do, with grammY's own predicates (`Context.has`).
 * Those methods build a composer for every update they look at (a `lazy` branch), and every update
 * passes eight of them on its way through the relay's features: a plain function allocates nothing.
 */
import type { MiddlewareFn, NextFunction } from "grammy"
import type { RelayContext } from "../RelayContext.js"

export function when<C extends RelayContext>(
  matches: (ctx: RelayContext) => ctx is C,
  handler: (ctx: C, next: NextFunction) => unknown
): MiddlewareFn<RelayContext>
export function when(
  matches: (ctx: RelayContext) => boolean,
  handler: (ctx: RelayContext, next: NextFunction) => unknown
): MiddlewareFn<RelayContext>
export function when(
  matches: (ctx: RelayContext) => boolean,
  handler: (ctx: RelayContext, next: NextFunction) => unknown
): MiddlewareFn<RelayContext> {
  return (ctx, next) => (matches(ctx) ? handler(ctx, next) : next())
}

/** Either predicate: the first that accepts. */
export const either =
  (...predicates: ReadonlyArray<(ctx: RelayContext) => boolean>) =>
  (ctx: RelayContext): boolean =>
    predicates.some((matches) => matches(ctx))
