import type { Portal } from "../../Portal.js"
import type { PhpValue } from "../php.js"

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

export interface MethodContext {
  readonly portal: Portal
  readonly auth: Auth
  /** The request's parameters (query and body merged, as PHP's `$_REQUEST`), keys as sent. */
  readonly params: Readonly<Record<string, PhpValue>>
  /** The emulator clock's now, Unix ms. */
  readonly now: number
  readonly random: () => number
}

/** A REST method: the scope it needs (`_global` for none) and what it does; throws `RestError`. */
export interface Method {
  readonly scope: string
  readonly run: (context: MethodContext) => unknown
}
