/** The console's JSON API, as the page calls it. */
import { signal } from "@preact/signals"

/** Set when the credential is refused mid-session: the page shows how to sign in again. */
export const authProblem = signal<string | undefined>(undefined)

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message)
  }
}

const request = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
  const response = await fetch(`/console/api/${path}`, {
    method,
    // The header marks the page's own requests: the server refuses state changes without it.
    headers: { "x-linecast-console": "1", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    credentials: "same-origin",
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  }).catch(() => {
    throw new ApiError(0, "The console's server cannot be reached: is linecast serve still running?")
  })
  const answer = (await response.json().catch(() => ({}))) as { readonly message?: string }
  if (response.status === 401) authProblem.value = answer.message ?? "The credential was refused."
  if (!response.ok) throw new ApiError(response.status, answer.message ?? `The server answered ${response.status}.`)
  if (response.status !== 401) authProblem.value = undefined
  return answer as A
}

export const get = <A>(path: string): Promise<A> => request<A>("GET", path)
export const post = <A>(path: string, body: unknown = {}): Promise<A> => request<A>("POST", path, body)

export type State = "queued" | "sending" | "sent" | "deferred" | "ambiguous" | "dead"

export interface RecordedError {
  readonly tag: string
  readonly code: string
  readonly errorClass: string
  readonly message: string
  readonly nextAllowedAt?: number
}

export interface Entry {
  readonly id: string
  readonly idempotencyKey: string
  readonly portal: string
  readonly message: { readonly lineCode: string; readonly userId: number; readonly message: string }
  readonly policy: string
  readonly state: State
  readonly nextAllowedAt?: number
  readonly notBefore?: number
  readonly attempts: number
  readonly generation: number
  readonly settlement?: string
  readonly mergedInto?: string
  readonly receipt?: { readonly requestId: string; readonly sentAt: number }
  readonly lastError?: RecordedError
  readonly createdAt: number
  readonly updatedAt: number
  readonly reason?: string
}

export interface HistoryRecord {
  readonly version: number
  readonly state: State
  readonly attempts: number
  readonly generation: number
  readonly nextAllowedAt?: number
  readonly settlement?: string
  readonly receipt?: { readonly requestId: string; readonly sentAt: number }
  readonly lastError?: RecordedError
  readonly at: number
}

export interface Preview {
  readonly wire: unknown
  readonly validation:
    | { readonly ok: true; readonly attachmentSize?: number; readonly attachmentLimit: number }
    | {
        readonly ok: false
        readonly code: string
        readonly field?: string
        readonly rule?: string
        readonly message: string
      }
}

export interface Session {
  readonly mode: "demo" | "portal"
  readonly protected: boolean
  readonly demo: boolean
  readonly users: ReadonlyArray<{ readonly id: number; readonly name: string }>
  readonly lineCodes: ReadonlyArray<string>
  readonly defaultPortal: string
  readonly states: ReadonlyArray<State>
}

export interface Page {
  readonly total: number
  readonly offset: number
  readonly limit: number
  readonly items: ReadonlyArray<Entry>
}

export interface PortalStatus {
  readonly id: string
  readonly domain?: string
  readonly budget?: { readonly level: number; readonly limit: number }
  readonly operatingTime?: ReadonlyArray<{
    readonly method: string
    readonly usedSeconds: number
    readonly limitSeconds: number
  }>
  readonly breaker?: "closed" | "open" | "half-open"
  readonly token?: "ok" | "expiring" | "refresh-failed" | "webhook"
}

export interface InboxMessage {
  readonly id: number
  readonly userId: number
  readonly lineCode: string
  readonly message: string
  readonly attach: unknown
  readonly keyboard: unknown
  readonly receivedAt: number
}
