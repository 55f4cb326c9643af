/**
 * Why a message failed, in plain words an operator can act on, from the typed error the outbox keeps.
 *
 * @since 0.1.0
 */
import type { OutboxEntry } from "@linecast/delivery"

const byCode: Readonly<Record<string, string>> = {
  NOT_FOUND: "The open line is not joined on this portal, or it is blacklisted. Join the line, then replay.",
  CODE: "The open line's code is not a valid 32-character code. Fix the rule's line code.",
  USER_ID_EMPTY: "The recipient's user id is empty or 0. Check the rule's recipient field.",
  MESSAGE_EMPTY: "The message text is empty. Check the rule's template.",
  USER_MESSAGE_LIMIT:
    "The recipient was already written to from this line in the last 7 days (Bitrix24's weekly rule).",
  REPLACED: "A newer message to the same recipient replaced this one (policy replace).",
  ATTACH_OVERSIZE: "The attachment is larger than Bitrix24 accepts (60,000 characters of JSON).",
  ATTACH_ERROR: "The attachment has no block Bitrix24 accepts.",
  KEYBOARD_ERROR: "The keyboard has no button Bitrix24 keeps (each needs a text and a link).",
  IMBOT_ERROR: "The portal lacks the imbot module that sends open-line messages.",
  PORTAL_DELETED: "The portal was deleted or closed.",
  ACCESS_DENIED: "REST is not available on the portal's plan.",
  OVERLOAD_LIMIT: "The portal's REST API was blocked for overload by its administrators.",
  INVALID_CREDENTIALS: "The portal refused the credential: the webhook or the application needs re-authorising.",
  expired_token: "The access token expired and could not be refreshed: re-install or re-authorise the application.",
  invalid_token: "The access token is not valid: re-install or re-authorise the application.",
  insufficient_scope: "The webhook or application lacks the imopenlines scope.",
  INTERNAL_SERVER_ERROR: "The portal answered with a server error, and it is not known whether the message went out."
}

const byClass: Readonly<Record<string, string>> = {
  permanent: "The portal refused the message as it is; sending it again unchanged would fail the same way.",
  auth: "The portal refused Linecast's credential.",
  quota: "The recipient's weekly allowance is used up.",
  ambiguous: "The answer was lost: the message may or may not have arrived.",
  retryable: "A temporary failure that outlasted the retries.",
  rateLimited: "The portal's rate limits held the message back beyond the retries."
}

/**
 * The reason in plain words, or undefined when the entry holds no error.
 *
 * @since 0.1.0
 * @category formatting
 */
export const plainReason = (entry: Pick<OutboxEntry.OutboxEntry, "lastError" | "state">): string | undefined => {
  const error = entry.lastError
  if (error === undefined) {
    return entry.state === "ambiguous" ? byClass.ambiguous : undefined
  }
  return byCode[error.code] ?? byClass[error.errorClass] ?? `The portal answered ${error.code}: ${error.message}`
}
