/**
 * The Telegram emulator's HTTP surface: the Bot API at `/bot<token>/<method>` (GET or POST, query
 * string, JSON, form and multipart bodies), file downloads at `/file/bot<token>/<file_path>`, and
 * the control API under `/_emulator/`.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type { From, TelegramEntity } from "../TelegramControl.js"
import { TelegramApiError, TelegramControl } from "../TelegramControl.js"

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

const botPath = /^\/bot([^/]+)\/([A-Za-z_]+)\/?$/
const filePath = /^\/file\/bot([^/]+)\/(.+)$/

const readBody = (
  request: HttpServerRequest.HttpServerRequest,
  maxBodyBytes: number
): Effect.Effect<Record<string, unknown>, TelegramApiError> =>
  Effect.gen(function* () {
    const query = Object.fromEntries(new URL(request.url, "http://emulator").searchParams)
    if (request.method === "GET" || request.method === "HEAD") return query
    const buffer = yield* request.arrayBuffer.pipe(
      Effect.mapError(() => new TelegramApiError(400, "Bad Request: can't read the request body"))
    )
    if (buffer.byteLength > maxBodyBytes)
      return yield* Effect.fail(new TelegramApiError(413, "Request Entity Too Large"))
    if (buffer.byteLength === 0) return query
    const contentType = (request.headers["content-type"] ?? "").toLowerCase()
    if (contentType.startsWith("application/json")) {
      const parsed = yield* Effect.try({
        try: () => JSON.parse(new TextDecoder().decode(buffer)) as unknown,
        catch: () => new TelegramApiError(400, "Bad Request: can't parse JSON")
      })
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        return yield* Effect.fail(new TelegramApiError(400, "Bad Request: the request body must be a JSON object"))
      }
      return { ...query, ...(parsed as Record<string, unknown>) }
    }
    if (contentType.startsWith("application/x-www-form-urlencoded")) {
      return { ...query, ...Object.fromEntries(new URLSearchParams(new TextDecoder().decode(buffer))) }
    }
    if (contentType.startsWith("multipart/form-data")) {
      const form = yield* Effect.tryPromise({
        try: () => new Response(buffer, { headers: { "content-type": contentType } }).formData(),
        catch: () => new TelegramApiError(400, "Bad Request: can't parse multipart/form-data")
      })
      const params: Record<string, unknown> = { ...query }
      form.forEach((value, key) => {
        // Uploaded files are accepted and not kept: the emulator's methods take no uploads.
        if (typeof value === "string") params[key] = value
      })
      return params
    }
    return query
  })

const botApi = (control: TelegramControl, token: string, method: string, maxBodyBytes: number) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* readBody(request, maxBodyBytes).pipe(
      Effect.flatMap((raw) =>
        Effect.try({ try: () => TelegramControl.decodeParams(raw), catch: (error) => error as TelegramApiError })
      )
    )
    const answer = yield* Effect.promise((signal) => control.call(token, method, params, signal))
    return json(answer.body, answer.status)
  }).pipe(Effect.catchAll((error) => Effect.succeed(json(error.body(), error.status))))

// ---- control ---------------------------------------------------------------------------------

interface InjectBody {
  readonly kind: "text" | "command" | "photo" | "document" | "callback" | "raw"
  readonly user?: number | Record<string, unknown>
  readonly chat?: number | Record<string, unknown>
  readonly updateId?: number
  readonly text?: string
  readonly entities?: ReadonlyArray<TelegramEntity>
  readonly command?: string
  readonly args?: string
  readonly base64?: string
  readonly caption?: string
  readonly captionEntities?: ReadonlyArray<TelegramEntity>
  readonly fileName?: string
  readonly mimeType?: string
  readonly data?: string
  readonly messageId?: number
  readonly update?: Record<string, unknown>
}

const inject = (control: TelegramControl, body: InjectBody) => {
  const from: From = {
    user: (body.user ?? 1) as From["user"],
    ...(body.chat === undefined ? {} : { chat: body.chat as NonNullable<From["chat"]> }),
    ...(body.updateId === undefined ? {} : { updateId: body.updateId })
  }
  const bytes = Buffer.from(body.base64 ?? "", "base64")
  const caption = {
    ...(body.caption === undefined ? {} : { caption: body.caption }),
    ...(body.captionEntities === undefined ? {} : { captionEntities: body.captionEntities })
  }
  switch (body.kind) {
    case "text":
      return control.sendText(from, body.text ?? "", body.entities ?? [])
    case "command":
      return control.sendCommand(from, body.command ?? "start", body.args ?? "", body.entities ?? [])
    case "photo":
      return control.sendPhoto(from, bytes, caption)
    case "document":
      return control.sendDocument(from, bytes, {
        ...caption,
        ...(body.fileName === undefined ? {} : { fileName: body.fileName }),
        ...(body.mimeType === undefined ? {} : { mimeType: body.mimeType })
      })
    case "callback":
      return control.sendCallbackQuery(from, body.data ?? "", body.messageId)
    case "raw":
      return control.injectUpdate({
        ...(body.update ?? {}),
        ...(body.updateId === undefined ? {} : { update_id: body.updateId })
      })
    default:
      throw new TelegramApiError(400, `Bad Request: unknown update kind "${String(body.kind)}"`)
  }
}

const controlApi = (control: TelegramControl, path: string) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const query = new URL(request.url, "http://emulator").searchParams
    const readJson = Effect.flatMap(request.text, (text) =>
      Effect.try(() => (text === "" ? {} : (JSON.parse(text) as Record<string, unknown>)))
    )
    const route = `${request.method} ${path}`
    switch (route) {
      case "GET /_emulator/health":
        return json({ ok: true })
      case "GET /_emulator/bot":
        return json({ token: control.token, botInfo: control.botInfo, apiRoot: control.apiRoot })
      case "POST /_emulator/updates": {
        const body = (yield* readJson) as unknown as InjectBody
        return json(inject(control, body), 201)
      }
      case "POST /_emulator/redeliver": {
        const body = yield* readJson
        return json(control.redeliver(Number(body.updateId)))
      }
      case "GET /_emulator/updates":
        return json(control.pendingUpdates())
      case "GET /_emulator/sent": {
        const chatId = query.get("chatId")
        return json(control.sent(chatId === null ? undefined : Number(chatId)))
      }
      case "GET /_emulator/webhook":
        return json(control.webhook ?? null)
      case "GET /_emulator/counters":
        return json(control.counters)
      case "POST /_emulator/too-many-requests": {
        const body = yield* readJson
        control.tooManyRequests({
          ...(typeof body.retryAfter === "number" ? { retryAfter: body.retryAfter } : {}),
          ...(typeof body.count === "number" ? { count: body.count } : {}),
          ...(Array.isArray(body.methods) ? { methods: body.methods as Array<string> } : {})
        })
        return json({ ok: true })
      }
      case "POST /_emulator/reset":
        control.reset()
        return json({ ok: true })
      default:
        return json({ ok: false, error_code: 404, description: "Not Found: no such control route" }, 404)
    }
  }).pipe(
    Effect.catchAll((error) =>
      Effect.succeed(
        error instanceof TelegramApiError
          ? json(error.body(), error.status)
          : json({ ok: false, error_code: 400, description: `Bad Request: ${String(error)}` }, 400)
      )
    )
  )

/** The whole HTTP app of one Telegram emulator; it answers every request. */
export const makeTelegramHttpApp = (control: TelegramControl, options: { readonly maxBodyBytes: number }) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = new URL(request.url, "http://emulator").pathname
    const bot = botPath.exec(path)
    if (bot !== null) return yield* botApi(control, decodeURIComponent(bot[1]!), bot[2]!, options.maxBodyBytes)
    const file = filePath.exec(path)
    if (file !== null) {
      const stored = control.download(decodeURIComponent(file[1]!), decodeURIComponent(file[2]!))
      if (stored === undefined) return json({ ok: false, error_code: 404, description: "Not Found" }, 404)
      return HttpServerResponse.uint8Array(stored.bytes, {
        contentType: stored.mimeType ?? "application/octet-stream"
      })
    }
    if (path.startsWith("/_emulator/")) return yield* controlApi(control, path.replace(/\/$/, ""))
    return json({ ok: false, error_code: 404, description: "Not Found" }, 404)
  }).pipe(
    // A defect is the emulator's own bug: answer it rather than drop the connection.
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.as(
            Effect.logError("telegram emulator defect", cause),
            json({ ok: false, error_code: 500, description: "Internal Server Error" }, 500)
          )
    )
  )
