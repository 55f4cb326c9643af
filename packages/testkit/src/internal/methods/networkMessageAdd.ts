/**
 * `imopenlines.network.message.add`, checked in the order of `Bitrix\ImOpenLines\Rest::networkMessageAdd`
 * (modules/imopenlines/lib/rest.php). The weekly rule is recorded only after the message was added.
 */
import { attachSize, normalizeAttach } from "../attach.js"
import { normalizeKeyboard } from "../keyboard.js"
import { intval, isEmpty, stringOf, trim, upperKeys } from "../php.js"
import { RestError } from "../restError.js"
import type { Method } from "./method.js"

const wrong = (code: string, description: string) => new RestError(code, description, 400)

export const networkMessageAdd: Method = {
  scope: "imopenlines",
  run: ({ portal, auth, params: raw, now, random }) => {
    if (auth.type === "session") {
      throw new RestError("WRONG_AUTH_TYPE", "Access for this method not allowed by session authorization.", 403)
    }
    const params = upperKeys(raw)
    const code = params.CODE
    // mb_strlen counts characters (code points), not bytes.
    if (code === undefined || code === null || [...stringOf(code)].length !== 32) {
      throw wrong("CODE", "You entered an invalid code")
    }
    if (!portal.imbotInstalled) throw wrong("IMBOT_ERROR", "Module IMBOT is not installed")
    const line = portal.lines.get(stringOf(code))
    if (line === undefined || line.blacklisted || !line.joined) throw wrong("NOT_FOUND", "Line not found")

    const userId = intval(params.USER_ID ?? null)
    if (userId === 0) throw wrong("USER_ID_EMPTY", "User ID can't be empty")

    const ledgerKey = `${line.botId}:${userId}`
    const lastSent = portal.ledger.get(ledgerKey)
    if (!portal.nfr && lastSent !== undefined && lastSent > now - portal.weeklyWindowSeconds * 1000) {
      throw wrong("USER_MESSAGE_LIMIT", "You cant send more than one message per week to each user.")
    }

    const message = trim(stringOf(params.MESSAGE ?? null))
    if (message === "") throw wrong("MESSAGE_EMPTY", "Message can't be empty")

    let attach: unknown = null
    if (!isEmpty(params.ATTACH)) {
      const normalized = normalizeAttach(params.ATTACH!, now, random)
      if (normalized === undefined) throw wrong("ATTACH_ERROR", "Incorrect attach params")
      if (attachSize(normalized) >= portal.attachMaxCharacters) {
        throw wrong("ATTACH_OVERSIZE", "You have exceeded the maximum allowable size of attach")
      }
      attach = normalized
    }

    let keyboard: unknown = null
    if (!isEmpty(params.KEYBOARD)) {
      const normalized = normalizeKeyboard(params.KEYBOARD!, params.BOT_ID)
      if (normalized === undefined) throw wrong("KEYBOARD_ERROR", "Incorrect keyboard params")
      keyboard = normalized
    }

    // Im\Bot::addMessage fails for a recipient that is not a user of the portal.
    if (!portal.users.has(userId)) throw wrong("WRONG_REQUEST", "Message isn't added")

    portal.deliver({
      lineCode: line.code,
      botId: line.botId,
      userId,
      message,
      attach,
      keyboard,
      urlPreview: params.URL_PREVIEW !== "N",
      receivedAt: now,
      authType: auth.type
    })
    portal.ledger.set(ledgerKey, now)
    portal.counters.accepted++
    return true
  }
}
