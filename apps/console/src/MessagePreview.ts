/**
 * A message as Bitrix24 would receive it, with core's local validation beside it: the wire form
 * (`CODE`, `USER_ID`, `MESSAGE`, `ATTACH`, `KEYBOARD`) that the page renders as the chat shows it,
 * and the verdict of the server's own checks (line code, recipient, text, attachment size, keyboard).
 *
 * @since 0.1.0
 */
import { NetworkMessage } from "@linecast/core"
import * as Effect from "effect/Effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface PreviewResult {
  /** The parameters as they go on the wire. */
  readonly wire: unknown
  readonly validation:
    | { readonly ok: true; readonly attachmentSize?: number | undefined; readonly attachmentLimit: number }
    | {
        readonly ok: false
        readonly code: string
        readonly field?: string | undefined
        readonly rule?: string | undefined
        readonly message: string
      }
}

const attachmentLimit = 60_000

const verdict = (params: unknown) =>
  NetworkMessage.validateWire(params, { attachmentMaxCharacters: attachmentLimit }).pipe(
    Effect.map((validated): PreviewResult["validation"] => ({
      ok: true,
      attachmentSize: validated.attachmentSize,
      attachmentLimit
    })),
    Effect.catchAll((error) =>
      Effect.succeed<PreviewResult["validation"]>({
        ok: false,
        code: error.code,
        field: "field" in error && typeof error.field === "string" ? error.field : undefined,
        rule: "rule" in error && typeof error.rule === "string" ? error.rule : undefined,
        message: error.message
      })
    )
  )

/**
 * Previews raw wire parameters, as typed into the page.
 *
 * @since 0.1.0
 * @category preview
 */
export const ofWire = (params: unknown): Effect.Effect<PreviewResult> =>
  Effect.map(verdict(params), (validation) => ({ wire: params, validation }))

/**
 * Previews a typed message, as the outbox holds it.
 *
 * @since 0.1.0
 * @category preview
 */
export const ofMessage = (message: NetworkMessage.NetworkMessage): Effect.Effect<PreviewResult> =>
  NetworkMessage.toWire(message).pipe(
    Effect.flatMap(ofWire),
    Effect.catchAll((error) =>
      Effect.succeed<PreviewResult>({
        wire: undefined,
        validation: { ok: false, code: error.code, field: error.field, rule: error.rule, message: error.message }
      })
    )
  )
