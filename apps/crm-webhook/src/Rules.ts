/**
 * What to send for which event: a declarative rules file (JSON or YAML), validated by Schema with
 * errors that name the path of the offending value.
 *
 * ```yaml
 * rules:
 *   - name: deal-won
 *     event: ONCRMDEALUPDATE
 *     filter: { STAGE_ID: WON }
 *     recipient: { field: ASSIGNED_BY_ID }
 *     lineCode: 0123456789abcdef0123456789abcdef
 *     template: "Deal [b]{TITLE}[/b] is won: {OPPORTUNITY} {CURRENCY_ID}"
 *     keyboard: [{ text: Open the deal, link: "https://portal.bitrix24.com/crm/deal/details/{ID}/" }]
 *     policy: digest
 * ```
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Yaml from "yaml"
import { CrmEventName } from "./CrmEvent.js"

/**
 * Who receives the message: a fixed user, or the user named by one of the record's fields.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Recipient = Schema.Union(
  Schema.Struct({ userId: Schema.Int.pipe(Schema.positive()) }),
  Schema.Struct({ field: Schema.String.pipe(Schema.pattern(/^[A-Z0-9_]+$/)) })
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const Rule = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_.-]{1,64}$/)),
  event: CrmEventName,
  /** Exact values the record's fields must have (a list means any of them). */
  filter: Schema.optional(
    Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Array(Schema.String)) })
  ),
  recipient: Recipient,
  /** The network open line's CODE (32 characters). */
  lineCode: Schema.String.pipe(Schema.length(32)),
  /** The text: BB codes allowed; `{FIELD}` placeholders take the record's values, BB-escaped. */
  template: Schema.String.pipe(Schema.minLength(1)),
  /** Link buttons; `{FIELD}` placeholders in links are URL-encoded. */
  keyboard: Schema.optional(Schema.Array(Schema.Struct({ text: Schema.String, link: Schema.String }))),
  policy: Schema.optional(Schema.Literal("reject", "defer", "digest", "replace")),
  /** The delivery portal id (`default` when there is one portal). */
  portal: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Rule = typeof Rule.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const RuleSet = Schema.Struct({ rules: Schema.Array(Rule) })

/**
 * @since 0.1.0
 * @category models
 */
export type RuleSet = typeof RuleSet.Type

/**
 * The rules file could not be read or is not valid; `message` names the path of each problem.
 *
 * @since 0.1.0
 * @category errors
 */
export class RulesError extends Schema.TaggedError<RulesError>()("RulesError", {
  source: Schema.String,
  problems: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Invalid rules in ${this.source}:\n${this.problems.map((problem) => `  - ${problem}`).join("\n")}`
  }
}

const decode = Schema.decodeUnknown(RuleSet, { errors: "all", onExcessProperty: "error" })

/**
 * Validates rules given as a value (already parsed JSON or YAML).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromValue = (value: unknown, source = "rules"): Effect.Effect<RuleSet, RulesError> =>
  decode(value).pipe(
    Effect.mapError(
      (error) =>
        new RulesError({
          source,
          problems: ParseResult.ArrayFormatter.formatErrorSync(error).map(
            (issue) => `${issue.path.length === 0 ? "(root)" : issue.path.join(".")}: ${issue.message}`
          )
        })
    ),
    Effect.flatMap((rules) => {
      const names = rules.rules.map((rule) => rule.name)
      const repeated = names.filter((name, index) => names.indexOf(name) !== index)
      return repeated.length === 0
        ? Effect.succeed(rules)
        : Effect.fail(
            new RulesError({ source, problems: repeated.map((name) => `rules: the name "${name}" is used twice`) })
          )
    })
  )

/**
 * Reads a rules file: `.json`, or YAML otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFile = (path: string): Effect.Effect<RuleSet, RulesError> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => new RulesError({ source: path, problems: [`cannot be read: ${(cause as Error).message}`] })
  }).pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: () => (path.endsWith(".json") ? (JSON.parse(text) as unknown) : (Yaml.parse(text) as unknown)),
        catch: (cause) =>
          new RulesError({
            source: path,
            problems: [`is not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${(cause as Error).message}`]
          })
      })
    ),
    Effect.flatMap((value) => fromValue(value, path))
  )

/**
 * Whether a record passes a rule's filter.
 *
 * @since 0.1.0
 * @category predicates
 */
export const matches = (rule: Rule, fields: Readonly<Record<string, unknown>>): boolean =>
  Object.entries(rule.filter ?? {}).every(([key, expected]) => {
    const actual = fields[key]
    const text = actual === null || actual === undefined ? "" : String(actual)
    return typeof expected === "string" ? text === expected : expected.includes(text)
  })
