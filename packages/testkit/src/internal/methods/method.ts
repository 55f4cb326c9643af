import type { Portal } from "../../Portal.js"
import type { PhpValue } from "../php.js"
import type { RestError } from "../restError.js"

/** How the caller authenticated: the server's auth types. */
export type Auth =
  | {
      readonly type: "webhook"
      readonly userId: number
      readonly credential: string
      readonly scopes: ReadonlyArray<string>
    }
  | {
      readonly type: "oauth"
      readonly userId: number
      readonly credential: string
      readonly scopes: ReadonlyArray<string>
    }
  | { readonly type: "session"; readonly userId: number }

/** Request parameters as PHP holds them. */
export type Params = Readonly<Record<string, PhpValue>>

/** A page of a list: the server lifts `next` and `total` out of the result, beside it in the envelope. */
export class Paged {
  constructor(
    readonly items: ReadonlyArray<unknown>,
    readonly total: number,
    readonly next: number | undefined
  ) {}
}

/** A successful call's envelope, without its `time`. */
export interface Success {
  readonly result: unknown
  readonly next?: number
  readonly total?: number
}

/** What a call inside a batch gave: its envelope, or its error. */
export type Outcome = (Success & { readonly time: unknown }) | { readonly error: RestError }

export interface MethodContext {
  readonly portal: Portal
  readonly auth: Auth
  /** The request's parameters (query and body merged, as PHP's `$_REQUEST`), keys as sent. */
  readonly params: Params
  /** The emulator clock's now, Unix ms. */
  readonly now: number
  readonly random: () => number
  /** Calls another method as the same caller (what `batch` does for each command). */
  readonly invoke: (method: string, params: Params) => Outcome
}

/** A REST method: the scope it needs (`_global` for none) and what it does; throws `RestError`. */
export interface Method {
  readonly scope: string
  readonly run: (context: MethodContext) => unknown
}
