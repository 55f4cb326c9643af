/**
 * Templates: the rule's text, with `{FIELD}` placeholders replaced by the record's values. The
 * template's own BB codes stay; the values are escaped, so a CRM field cannot inject markup (core's
 * `BBCode.escapeText`). In keyboard links the values are URL-encoded instead. A placeholder naming
 * a field the record does not have is an error, never an empty hole.
 *
 * @since 0.1.0
 */
import { BBCode, type NetworkMessage } from "@linecast/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Rule } from "./Rules.js"

/**
 * @since 0.1.0
 * @category errors
 */
export class TemplateFieldError extends Schema.TaggedError<TemplateFieldError>()("TemplateFieldError", {
  rule: Schema.String,
  field: Schema.String
}) {
  override get message() {
    return `Rule "${this.rule}": the template names {${this.field}}, which the record does not have`
  }
}

/**
 * The recipient's field holds no user id.
 *
 * @since 0.1.0
 * @category errors
 */
export class RecipientFieldError extends Schema.TaggedError<RecipientFieldError>()("RecipientFieldError", {
  rule: Schema.String,
  field: Schema.String
}) {
  override get message() {
    return `Rule "${this.rule}": the recipient field ${this.field} holds no user id`
  }
}

const placeholder = /\{([A-Z0-9_]+)\}/g

const fill = (
  rule: Rule,
  template: string,
  fields: Readonly<Record<string, unknown>>,
  encode: (value: string) => string
) =>
  Effect.gen(function* () {
    const missing = [...template.matchAll(placeholder)].map((match) => match[1]!).find((name) => !(name in fields))
    if (missing !== undefined) return yield* new TemplateFieldError({ rule: rule.name, field: missing })
    return template.replace(placeholder, (_, name: string) => {
      const value = fields[name]
      return encode(
        value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value)
      )
    })
  })

/**
 * The message a rule makes of a record.
 *
 * @since 0.1.0
 * @category constructors
 */
export const render = (
  rule: Rule,
  fields: Readonly<Record<string, unknown>>
): Effect.Effect<NetworkMessage.NetworkMessage, TemplateFieldError | RecipientFieldError> =>
  Effect.gen(function* () {
    const userId =
      "userId" in rule.recipient
        ? rule.recipient.userId
        : Number.parseInt(String(fields[rule.recipient.field] ?? ""), 10)
    if (!Number.isInteger(userId) || userId <= 0) {
      return yield* new RecipientFieldError({
        rule: rule.name,
        field: "field" in rule.recipient ? rule.recipient.field : "userId"
      })
    }
    const message = yield* fill(rule, rule.template, fields, BBCode.escapeText)
    const buttons = yield* Effect.forEach(rule.keyboard ?? [], (button) =>
      Effect.all({
        text: fill(rule, button.text, fields, (value) => value),
        link: fill(rule, button.link, fields, encodeURIComponent)
      })
    )
    return {
      lineCode: rule.lineCode,
      userId,
      message,
      ...(buttons.length > 0 ? { keyboard: buttons } : {})
    }
  })
