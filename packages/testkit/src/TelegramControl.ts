/**
 * The Telegram Bot API emulator's state and its control API: one bot, the updates waiting for it,
 * its webhook, the files users sent, and everything the bot sent. Tests inject updates (text with
 * entities, commands, photos, documents, callback queries) and read what the bot answered; the
 * HTTP control surface under `/_emulator/` calls exactly these functions.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"

/**
 * A Telegram user, as updates carry it.
 *
 * @since 0.1.0
 * @category models
 */
export interface TelegramUser {
  readonly id: number
  readonly is_bot: boolean
  readonly first_name: string
  readonly last_name?: string
  readonly username?: string
  readonly language_code?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TelegramChat {
  readonly id: number
  readonly type: "private" | "group" | "supergroup" | "channel"
  readonly title?: string
  readonly first_name?: string
  readonly username?: string
}

/**
 * A message entity; offsets and lengths count UTF-16 code units, as Telegram's do.
 *
 * @since 0.1.0
 * @category models
 */
export interface TelegramEntity {
  readonly type: string
  readonly offset: number
  readonly length: number
  readonly url?: string
  readonly user?: TelegramUser
  readonly language?: string
}

/**
 * An update as the Bot API sends it: `update_id` plus one kind (`message`, `callback_query`, ...).
 *
 * @since 0.1.0
 * @category models
 */
export interface TelegramUpdate {
  readonly update_id: number
  readonly [kind: string]: unknown
}

/**
 * A call the bot made that produced a message, or an answer to a callback query.
 *
 * @since 0.1.0
 * @category models
 */
export interface SentByBot {
  readonly method: string
  readonly chatId: number | undefined
  readonly text: string | undefined
  readonly messageId: number | undefined
  readonly params: Readonly<Record<string, unknown>>
  readonly at: number
}

/**
 * A file a user sent, with its bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredFile {
  readonly fileId: string
  readonly fileUniqueId: string
  readonly filePath: string
  readonly bytes: Uint8Array
  readonly mimeType: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WebhookState {
  readonly url: string
  readonly secretToken: string | undefined
  readonly maxConnections: number
  lastErrorDate?: number
  lastErrorMessage?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TelegramControlOptions {
  /** The bot's token; a random valid-looking one by default. */
  readonly token?: string
  readonly botId?: number
  readonly username?: string
  readonly firstName?: string
  /** `getFile` refuses files larger than this (Telegram: 20 MB). */
  readonly maxDownloadBytes?: number
}

/**
 * Who sends an injected update and where.
 *
 * @since 0.1.0
 * @category models
 */
export interface From {
  /** The sender; a private chat with the same id unless `chat` is given. */
  readonly user: number | Partial<TelegramUser>
  readonly chat?: number | Partial<TelegramChat>
  /** A fixed `update_id` (to deliver the same update twice); the next one by default. */
  readonly updateId?: number
}

/**
 * An error answer of the Bot API.
 *
 * @since 0.1.0
 * @category models
 */
export class TelegramApiError {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly parameters?: { readonly retry_after?: number; readonly migrate_to_chat_id?: number }
  ) {}
  body() {
    return {
      ok: false,
      error_code: this.status,
      description: this.description,
      ...(this.parameters === undefined ? {} : { parameters: this.parameters })
    }
  }
}

const badRequest = (text: string) => new TelegramApiError(400, `Bad Request: ${text}`)

/** Fields the Bot API reads as JSON when they arrive in a form or a query string. */
const jsonFields = new Set([
  "entities",
  "caption_entities",
  "reply_markup",
  "allowed_updates",
  "link_preview_options",
  "reply_parameters"
])

/**
 * @since 0.1.0
 * @category models
 */
export class TelegramControl {
  readonly token: string
  readonly bot: TelegramUser
  readonly maxDownloadBytes: number
  private baseUrl = "http://127.0.0.1"
  private nextUpdateId = 1
  private nextMessageId = 1
  private nextFile = 1
  private pending: Array<TelegramUpdate> = []
  private readonly delivered = new Map<number, TelegramUpdate>()
  private readonly waiters = new Set<() => void>()
  private readonly sentLog: Array<SentByBot> = []
  private readonly sentWaiters = new Set<() => void>()
  private readonly files = new Map<string, StoredFile>()
  private readonly chats = new Map<number, TelegramChat>()
  private webhookState: WebhookState | undefined
  private webhookLoop: Promise<void> | undefined
  private rateLimit: { retryAfter: number; remaining: number; methods: ReadonlySet<string> | undefined } | undefined
  private closed = false
  /** Calls by Bot API method, wrong tokens and 429s answered. */
  readonly counters = { calls: {} as Record<string, number>, unauthorized: 0, tooManyRequests: 0, webhookPosts: 0 }

  constructor(options: TelegramControlOptions = {}) {
    const botId = options.botId ?? 7_000_000_000 + Math.floor(Math.random() * 1_000_000)
    this.token = options.token ?? `${botId}:${randomBytes(26).toString("base64url").slice(0, 35)}`
    this.bot = {
      id: botId,
      is_bot: true,
      first_name: options.firstName ?? "Linecast Test Bot",
      username: options.username ?? "linecast_test_bot"
    }
    this.maxDownloadBytes = options.maxDownloadBytes ?? 20 * 1024 * 1024
  }

  /** Tells the emulator where it listens, so that it can hand out URLs. */
  setBaseUrl(url: string): void {
    this.baseUrl = url.replace(/\/$/, "")
  }

  /** What to give grammY as `client.apiRoot`. */
  get apiRoot(): string {
    return this.baseUrl
  }

  /** What `getMe` answers: grammY's `botInfo`. */
  get botInfo() {
    return {
      ...this.bot,
      is_bot: true as const,
      username: this.bot.username ?? "linecast_test_bot",
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
      has_topics_enabled: false,
      allows_users_to_create_topics: false,
      can_manage_bots: false,
      supports_join_request_queries: false
    }
  }

  // ---- injecting updates -------------------------------------------------------------------

  /** Queues an update (or POSTs it to the webhook); `update_id` is assigned when missing. */
  injectUpdate(update: Omit<TelegramUpdate, "update_id"> & { readonly update_id?: number }): TelegramUpdate {
    const update_id = update.update_id ?? this.nextUpdateId
    this.nextUpdateId = Math.max(this.nextUpdateId, update_id + 1)
    const full = { ...update, update_id } as TelegramUpdate
    this.pending.push(full)
    this.wake()
    this.pumpWebhook()
    return full
  }

  /** A text message; `entities` as Telegram gives them (UTF-16 offsets). */
  sendText(from: From, text: string, entities: ReadonlyArray<TelegramEntity> = []): TelegramUpdate {
    return this.injectMessage(from, { text, ...(entities.length === 0 ? {} : { entities }) })
  }

  /** A command, `/name args`, with its `bot_command` entity (and any others, offsets in the full text). */
  sendCommand(from: From, command: string, args = "", entities: ReadonlyArray<TelegramEntity> = []): TelegramUpdate {
    const head = `/${command.replace(/^\//, "")}`
    const text = args === "" ? head : `${head} ${args}`
    return this.injectMessage(from, {
      text,
      entities: [{ type: "bot_command", offset: 0, length: head.length }, ...entities]
    })
  }

  /** A photo: the bytes are stored, and the update carries two sizes (a thumbnail and the full one). */
  sendPhoto(
    from: From,
    bytes: Uint8Array,
    options: {
      readonly caption?: string
      readonly captionEntities?: ReadonlyArray<TelegramEntity>
      readonly width?: number
      readonly height?: number
      /** Overrides the reported `file_size` (to claim a large file without storing one). */
      readonly fileSize?: number
      /** Part of an album (see `sendAlbum`). */
      readonly mediaGroupId?: string
    } = {}
  ): TelegramUpdate {
    const width = options.width ?? 1280
    const height = options.height ?? 960
    const thumbnail = this.storeFile(bytes, "photos", "jpg", "image/jpeg")
    const full = this.storeFile(bytes, "photos", "jpg", "image/jpeg")
    const size = (file: StoredFile, scale: number) => ({
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      width: Math.max(1, Math.round(width * scale)),
      height: Math.max(1, Math.round(height * scale)),
      file_size: options.fileSize ?? bytes.byteLength
    })
    return this.injectMessage(from, {
      photo: [size(thumbnail, 0.25), size(full, 1)],
      ...(options.mediaGroupId === undefined ? {} : { media_group_id: options.mediaGroupId }),
      ...this.caption(options)
    })
  }

  /**
   * An album (a media group): one update per photo, in order, sharing a `media_group_id`, the
   * caption on the first as Telegram puts it.
   */
  sendAlbum(
    from: From,
    photos: ReadonlyArray<{
      readonly bytes: Uint8Array
      readonly width?: number
      readonly height?: number
      readonly fileSize?: number
    }>,
    options: { readonly caption?: string; readonly captionEntities?: ReadonlyArray<TelegramEntity> } = {}
  ): ReadonlyArray<TelegramUpdate> {
    const mediaGroupId = String(BigInt(`0x${randomBytes(7).toString("hex")}`))
    return photos.map((photo, index) =>
      this.sendPhoto({ user: from.user, ...(from.chat === undefined ? {} : { chat: from.chat }) }, photo.bytes, {
        ...(photo.width === undefined ? {} : { width: photo.width }),
        ...(photo.height === undefined ? {} : { height: photo.height }),
        ...(photo.fileSize === undefined ? {} : { fileSize: photo.fileSize }),
        ...(index === 0 ? options : {}),
        mediaGroupId
      })
    )
  }

  /** A document (any file), stored with its name and MIME type. */
  sendDocument(
    from: From,
    bytes: Uint8Array,
    options: {
      readonly fileName?: string
      readonly mimeType?: string
      readonly caption?: string
      readonly captionEntities?: ReadonlyArray<TelegramEntity>
      readonly fileSize?: number
    } = {}
  ): TelegramUpdate {
    const fileName = options.fileName ?? "document.bin"
    const extension = /\.([A-Za-z0-9]{1,8})$/.exec(fileName)?.[1] ?? "bin"
    const mimeType = options.mimeType ?? "application/octet-stream"
    const file = this.storeFile(bytes, "documents", extension, mimeType)
    return this.injectMessage(from, {
      document: {
        file_id: file.fileId,
        file_unique_id: file.fileUniqueId,
        file_name: fileName,
        mime_type: mimeType,
        file_size: options.fileSize ?? bytes.byteLength
      },
      ...this.caption(options)
    })
  }

  /** A press of an inline button on a message the bot sent (or on no known message). */
  sendCallbackQuery(from: From, data: string, messageId?: number): TelegramUpdate {
    const user = this.userOf(from)
    const chat = this.chatOf(from, user)
    const message = messageId === undefined ? undefined : this.sentLog.find((sent) => sent.messageId === messageId)
    return this.injectUpdate({
      ...(from.updateId === undefined ? {} : { update_id: from.updateId }),
      callback_query: {
        id: randomBytes(8).toString("hex"),
        from: user,
        chat_instance: String(chat.id),
        data,
        ...(message === undefined
          ? {}
          : {
              message: {
                message_id: message.messageId,
                date: Math.floor(message.at / 1000),
                chat,
                from: this.bot,
                text: message.text ?? ""
              }
            })
      }
    })
  }

  /** Delivers an update that was already delivered, as Telegram does after a lost acknowledgement. */
  redeliver(updateId: number): TelegramUpdate {
    const update = this.delivered.get(updateId) ?? this.pending.find((candidate) => candidate.update_id === updateId)
    if (update === undefined) throw new Error(`No update ${updateId} was ever injected`)
    this.pending.push(update)
    this.wake()
    this.pumpWebhook()
    return update
  }

  /** Updates injected and not yet confirmed (by an offset, or a 2xx from the webhook). */
  pendingUpdates(): ReadonlyArray<TelegramUpdate> {
    return [...this.pending]
  }

  // ---- what the bot did --------------------------------------------------------------------

  /** Everything the bot sent, oldest first, optionally to one chat only. */
  sent(chatId?: number): ReadonlyArray<SentByBot> {
    return chatId === undefined ? [...this.sentLog] : this.sentLog.filter((sent) => sent.chatId === chatId)
  }

  /** Resolves with the first sent item matching `predicate`, or rejects after `timeoutMs`. */
  waitForSent(predicate: (sent: SentByBot) => boolean, timeoutMs = 10_000): Promise<SentByBot> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.sentLog.find(predicate)
        if (found === undefined) return false
        clearTimeout(timer)
        this.sentWaiters.delete(listener)
        resolve(found)
        return true
      }
      const listener = () => void check()
      const timer = setTimeout(() => {
        this.sentWaiters.delete(listener)
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for the bot to send a matching message`))
      }, timeoutMs)
      if (!check()) this.sentWaiters.add(listener)
    })
  }

  /** A stored file, by id. */
  file(fileId: string): StoredFile | undefined {
    return this.files.get(fileId)
  }

  get webhook(): WebhookState | undefined {
    return this.webhookState
  }

  /**
   * Answers the next `count` calls (of `methods`, or of any method) with 429 and `retry_after`.
   * `count: 0` turns it off.
   */
  tooManyRequests(options: {
    readonly retryAfter?: number
    readonly count?: number
    readonly methods?: ReadonlyArray<string>
  }) {
    const count = options.count ?? 1
    this.rateLimit =
      count <= 0
        ? undefined
        : {
            retryAfter: options.retryAfter ?? 1,
            remaining: count,
            methods: options.methods === undefined ? undefined : new Set(options.methods)
          }
  }

  /**
   * Forgets updates, messages, files, the webhook and the 429 switch; with `keepChats`, the chats the bot
   * has seen stay known (what it sends to them later still arrives, as a benchmark's rounds need).
   */
  reset(options: { readonly keepChats?: boolean } = {}): void {
    this.pending = []
    this.delivered.clear()
    this.sentLog.length = 0
    this.files.clear()
    if (options.keepChats !== true) this.chats.clear()
    this.webhookState = undefined
    this.rateLimit = undefined
    this.counters.calls = {}
    this.counters.unauthorized = 0
    this.counters.tooManyRequests = 0
    this.counters.webhookPosts = 0
  }

  /** Ends long polls and the webhook loop; called when the server stops. */
  close(): void {
    this.closed = true
    this.wake()
  }

  // ---- the Bot API -------------------------------------------------------------------------

  /**
   * Answers one Bot API call. `wait` is given for `getUpdates` long polls: it resolves when an
   * update may be there, or when the poll's time is up.
   */
  async call(
    token: string,
    method: string,
    params: Readonly<Record<string, unknown>>,
    signal?: AbortSignal
  ): Promise<{ readonly status: number; readonly body: unknown }> {
    try {
      const result = await this.answer(token, method, params, signal)
      return { status: 200, body: { ok: true, result } }
    } catch (error) {
      if (error instanceof TelegramApiError) return { status: error.status, body: error.body() }
      throw error
    }
  }

  /** Reads the JSON-serialised fields of a form or query string, as the Bot API does. */
  static decodeParams(params: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const decoded: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(params)) {
      if (typeof value === "string" && jsonFields.has(key)) {
        try {
          decoded[key] = JSON.parse(value)
        } catch {
          throw badRequest(`can't parse ${key} JSON object`)
        }
      } else decoded[key] = value
    }
    return decoded
  }

  private async answer(
    token: string,
    rawMethod: string,
    params: Readonly<Record<string, unknown>>,
    signal: AbortSignal | undefined
  ): Promise<unknown> {
    if (token !== this.token) {
      this.counters.unauthorized++
      throw new TelegramApiError(401, "Unauthorized")
    }
    const method = rawMethod.toLowerCase()
    this.counters.calls[rawMethod] = (this.counters.calls[rawMethod] ?? 0) + 1
    if (this.rateLimit !== undefined && (this.rateLimit.methods?.has(rawMethod) ?? true)) {
      const retryAfter = this.rateLimit.retryAfter
      if (--this.rateLimit.remaining <= 0) this.rateLimit = undefined
      this.counters.tooManyRequests++
      throw new TelegramApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter })
    }
    switch (method) {
      case "getme":
        return this.botInfo
      case "logout":
      case "close":
        return true
      case "getupdates":
        return this.getUpdates(params, signal)
      case "setwebhook":
        return this.setWebhook(params)
      case "deletewebhook":
        if (params.drop_pending_updates === true || params.drop_pending_updates === "true") this.pending = []
        this.webhookState = undefined
        this.wake()
        return true
      case "getwebhookinfo":
        return {
          url: this.webhookState?.url ?? "",
          has_custom_certificate: false,
          pending_update_count: this.pending.length,
          max_connections: this.webhookState?.maxConnections ?? 40,
          ...(this.webhookState?.lastErrorDate === undefined
            ? {}
            : {
                last_error_date: this.webhookState.lastErrorDate,
                last_error_message: this.webhookState.lastErrorMessage
              })
        }
      case "sendmessage":
        return this.sendMessage(rawMethod, params)
      case "getfile":
        return this.getFile(params)
      case "answercallbackquery": {
        if (typeof params.callback_query_id !== "string" || params.callback_query_id === "") {
          throw badRequest("query is too old and response timeout expired or query ID is invalid")
        }
        this.record(
          rawMethod,
          undefined,
          params.text === undefined ? undefined : String(params.text),
          undefined,
          params
        )
        return true
      }
      case "setmycommands":
      case "deletemycommands":
        return true
      default:
        throw new TelegramApiError(404, "Not Found")
    }
  }

  private async getUpdates(params: Readonly<Record<string, unknown>>, signal: AbortSignal | undefined) {
    if (this.webhookState !== undefined) {
      throw new TelegramApiError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
      )
    }
    const offset = integerParam(params, "offset") ?? 0
    const limit = Math.min(100, Math.max(1, integerParam(params, "limit") ?? 100))
    const timeout = Math.min(50, Math.max(0, integerParam(params, "timeout") ?? 0))
    // An offset confirms every update before it: they are never sent again.
    if (offset > 0) this.confirm((update) => update.update_id < offset)
    const ready = () => this.pending.filter((update) => update.update_id >= offset || offset <= 0)
    if (ready().length === 0 && timeout > 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          this.waiters.delete(done)
          signal?.removeEventListener("abort", done)
          resolve()
        }
        const timer = setTimeout(done, timeout * 1000)
        this.waiters.add(done)
        signal?.addEventListener("abort", done)
      })
    }
    if (this.webhookState !== undefined) return []
    return ready().slice(0, limit)
  }

  private confirm(predicate: (update: TelegramUpdate) => boolean) {
    const kept: Array<TelegramUpdate> = []
    for (const update of this.pending) {
      if (predicate(update)) this.delivered.set(update.update_id, update)
      else kept.push(update)
    }
    this.pending = kept
  }

  private setWebhook(params: Readonly<Record<string, unknown>>) {
    const url = typeof params.url === "string" ? params.url : ""
    if (url === "") {
      this.webhookState = undefined
      return true
    }
    if (!/^https?:\/\//.test(url)) throw badRequest("bad webhook: An HTTPS URL must be provided for webhook")
    const secretToken = params.secret_token === undefined ? undefined : String(params.secret_token)
    if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
      throw badRequest("secret token contains unallowed characters")
    }
    if (params.drop_pending_updates === true || params.drop_pending_updates === "true") this.pending = []
    this.webhookState = {
      url,
      secretToken,
      maxConnections: integerParam(params, "max_connections") ?? 40
    }
    // Long polls under way end now, answering nothing.
    this.wake()
    this.pumpWebhook()
    return true
  }

  /** POSTs pending updates to the webhook one at a time, in order; a refused one is tried again. */
  private pumpWebhook() {
    if (this.webhookLoop !== undefined || this.webhookState === undefined) return
    this.webhookLoop = (async () => {
      let failures = 0
      while (!this.closed && this.webhookState !== undefined && this.pending.length > 0) {
        const state = this.webhookState
        const update = this.pending[0]!
        let error: string | undefined
        try {
          this.counters.webhookPosts++
          const response = await fetch(state.url, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              ...(state.secretToken === undefined ? {} : { "x-telegram-bot-api-secret-token": state.secretToken })
            },
            body: JSON.stringify(update),
            signal: AbortSignal.timeout(60_000)
          })
          await response.arrayBuffer().catch(() => undefined)
          if (response.ok) {
            if (this.pending[0] === update) this.pending.shift()
            this.delivered.set(update.update_id, update)
            failures = 0
            continue
          }
          error = `Wrong response from the webhook: ${response.status} ${response.statusText}`
        } catch (cause) {
          error = `Connection failed: ${(cause as Error).message}`
        }
        state.lastErrorDate = Math.floor(Date.now() / 1000)
        state.lastErrorMessage = error
        failures++
        await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** failures)))
      }
    })().finally(() => {
      this.webhookLoop = undefined
      if (!this.closed && this.webhookState !== undefined && this.pending.length > 0) this.pumpWebhook()
    })
  }

  private sendMessage(method: string, params: Readonly<Record<string, unknown>>) {
    const chatId = this.chatIdOf(params)
    const text = params.text === undefined ? "" : String(params.text)
    if (text.trim() === "") throw badRequest("message text is empty")
    if (text.length > 4096) throw badRequest("message is too long")
    const parseMode = params.parse_mode
    if (parseMode !== undefined && parseMode !== "HTML" && parseMode !== "MarkdownV2" && parseMode !== "Markdown") {
      throw badRequest(`unsupported parse_mode`)
    }
    const chat = this.chats.get(chatId)!
    const messageId = this.nextMessageId++
    const now = Date.now()
    this.record(method, chatId, text, messageId, params)
    return {
      message_id: messageId,
      from: this.bot,
      chat,
      date: Math.floor(now / 1000),
      text,
      ...(Array.isArray(params.entities) ? { entities: params.entities } : {}),
      ...(params.reply_markup === undefined ? {} : { reply_markup: params.reply_markup })
    }
  }

  private getFile(params: Readonly<Record<string, unknown>>) {
    const fileId = params.file_id === undefined ? "" : String(params.file_id)
    if (fileId === "") throw badRequest("file_id is empty")
    const file = this.files.get(fileId)
    if (file === undefined) throw badRequest("invalid file_id")
    if (file.bytes.byteLength > this.maxDownloadBytes) throw badRequest("file is too big")
    return {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      file_size: file.bytes.byteLength,
      file_path: file.filePath
    }
  }

  /** The bytes at `/file/bot<token>/<file_path>`, or undefined (a 404). */
  download(token: string, filePath: string): StoredFile | undefined {
    if (token !== this.token) return undefined
    for (const file of this.files.values()) if (file.filePath === filePath) return file
    return undefined
  }

  private chatIdOf(params: Readonly<Record<string, unknown>>): number {
    const raw = params.chat_id
    if (raw === undefined || raw === "") throw badRequest("chat_id is empty")
    const chatId = typeof raw === "number" ? raw : Number(raw)
    if (!Number.isSafeInteger(chatId) || !this.chats.has(chatId)) throw badRequest("chat not found")
    return chatId
  }

  private record(
    method: string,
    chatId: number | undefined,
    text: string | undefined,
    messageId: number | undefined,
    params: Readonly<Record<string, unknown>>
  ) {
    this.sentLog.push({ method, chatId, text, messageId, params: { ...params }, at: Date.now() })
    for (const waiter of [...this.sentWaiters]) waiter()
  }

  private wake() {
    for (const waiter of [...this.waiters]) waiter()
  }

  private storeFile(bytes: Uint8Array, folder: string, extension: string, mimeType: string): StoredFile {
    const n = this.nextFile++
    const file: StoredFile = {
      fileId: `AgAC${randomBytes(24).toString("base64url")}`,
      fileUniqueId: `AQAD${randomBytes(6).toString("base64url")}`,
      filePath: `${folder}/file_${n}.${extension}`,
      bytes: Uint8Array.from(bytes),
      mimeType
    }
    this.files.set(file.fileId, file)
    return file
  }

  private caption(options: { readonly caption?: string; readonly captionEntities?: ReadonlyArray<TelegramEntity> }) {
    return {
      ...(options.caption === undefined ? {} : { caption: options.caption }),
      ...(options.captionEntities === undefined || options.captionEntities.length === 0
        ? {}
        : { caption_entities: options.captionEntities })
    }
  }

  private userOf(from: From): TelegramUser {
    return typeof from.user === "number"
      ? { id: from.user, is_bot: false, first_name: `User ${from.user}` }
      : { is_bot: false, first_name: `User ${from.user.id ?? 0}`, id: 0, ...from.user }
  }

  private chatOf(from: From, user: TelegramUser): TelegramChat {
    const chat: TelegramChat =
      from.chat === undefined
        ? { id: user.id, type: "private", first_name: user.first_name }
        : typeof from.chat === "number"
          ? from.chat === user.id
            ? { id: user.id, type: "private", first_name: user.first_name }
            : { id: from.chat, type: "group", title: `Group ${from.chat}` }
          : { id: 0, type: "group", ...from.chat }
    this.chats.set(chat.id, chat)
    return chat
  }

  private injectMessage(from: From, content: Record<string, unknown>): TelegramUpdate {
    const user = this.userOf(from)
    const chat = this.chatOf(from, user)
    return this.injectUpdate({
      ...(from.updateId === undefined ? {} : { update_id: from.updateId }),
      message: {
        message_id: this.nextMessageId++,
        from: user,
        chat,
        date: Math.floor(Date.now() / 1000),
        ...content
      }
    })
  }
}

const integerParam = (params: Readonly<Record<string, unknown>>, name: string): number | undefined => {
  const value = params[name]
  if (value === undefined || value === "") return undefined
  const number = typeof value === "number" ? value : Number(value)
  if (!Number.isInteger(number)) throw badRequest(`invalid ${name} specified`)
  return number
}
