/**
 * Middleware run in order by one function. grammY's `use` nests each piece in two async functions (with
 * a promise and an await at every level, for every update), and a `/send` passed about sixteen levels on
 * its way through the relay: about a tenth of the relay's thread beyond the bare bot's went to that
 * nesting and its garbage (6 December, ninth session). Here each piece is called with a `next` that
 * calls the following one, and nothing is wrapped.
 */
import type { Context, Middleware, MiddlewareFn } from "grammy"

const done = Promise.resolve()

export const chain = <C extends Context>(...middleware: ReadonlyArray<Middleware<C>>): MiddlewareFn<C> => {
  const pieces = middleware.map((piece) => (typeof piece === "function" ? piece : piece.middleware()))
  return (ctx, next) => {
    const step = (index: number): Promise<void> => {
      if (index === pieces.length) return next()
      const result = pieces[index]!(ctx, () => step(index + 1))
      return result instanceof Promise ? result : done
    }
    return step(0)
  }
}
