/**
 * The CRM event handler mounted on the usual Node servers: a `node:http` request listener, an
 * Express middleware and a Fastify plugin, all serving the same routes (`POST /bitrix/events`,
 * `/healthz`, `/readyz`, `/metrics`) from one `Linecast` instance.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Linecast } from "./createLinecast.js"

type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void

/**
 * For `http.createServer(await nodeHandler(linecast))`.
 *
 * @since 0.1.0
 * @category mounting
 */
export const nodeHandler = (linecast: Linecast): Promise<NodeHandler> => linecast.handler()

/**
 * For `app.use(await expressMiddleware(linecast))`: the listener's routes are answered, anything
 * else goes to `next()`.
 *
 * @since 0.1.0
 * @category mounting
 */
export const expressMiddleware = async (linecast: Linecast, options: { readonly path?: string } = {}) => {
  const handler = await linecast.handler()
  const paths = new Set([options.path ?? "/bitrix/events", "/healthz", "/readyz", "/metrics"])
  return (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/"
    if (paths.has(path)) handler(request, response)
    else next()
  }
}

interface FastifyLike {
  readonly route: (options: {
    readonly method: string | ReadonlyArray<string>
    readonly url: string
    readonly handler: (
      request: { readonly raw: IncomingMessage },
      reply: { readonly raw: ServerResponse; hijack(): void }
    ) => void
  }) => unknown
  readonly removeAllContentTypeParsers: () => unknown
  readonly addContentTypeParser: (
    type: string,
    parser: (request: unknown, payload: unknown, done: (error: Error | null, body?: unknown) => void) => void
  ) => unknown
}

/**
 * For `await fastify.register(fastifyPlugin(linecast))`: in its own encapsulated context, where
 * Fastify leaves every body unread, the listener reads it itself (with its own size limit) and
 * answers on the raw response. The application's own parsers are untouched.
 *
 * @since 0.1.0
 * @category mounting
 */
export const fastifyPlugin =
  (linecast: Linecast, options: { readonly path?: string } = {}) =>
  // `unknown` so that any Fastify version's instance type is accepted; only the methods above are used.
  async (instance: unknown) => {
    const fastify = instance as FastifyLike
    const handler = await linecast.handler()
    fastify.removeAllContentTypeParsers()
    fastify.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined))
    const serve = (
      request: { readonly raw: IncomingMessage },
      reply: { readonly raw: ServerResponse; hijack(): void }
    ) => {
      reply.hijack()
      handler(request.raw, reply.raw)
    }
    fastify.route({ method: "POST", url: options.path ?? "/bitrix/events", handler: serve })
    for (const url of ["/healthz", "/readyz", "/metrics"]) fastify.route({ method: "GET", url, handler: serve })
  }
