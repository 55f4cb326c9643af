/** Helpers for fields that are camelCase in TypeScript and keep Bitrix24's spelling on the wire. */
import * as Schema from "effect/Schema"

export const required = <S extends Schema.Schema.Any, const Key extends string>(schema: S, key: Key) =>
  Schema.propertySignature(schema).pipe(Schema.fromKey(key))

export const optional = <S extends Schema.Schema.All, const Key extends string>(schema: S, key: Key) =>
  Schema.optional(schema).pipe(Schema.fromKey(key))

/** `true`/`false` inside, `Y`/`N` on the wire. */
export const YesNo = Schema.transform(Schema.Literal("Y", "N"), Schema.Boolean, {
  strict: true,
  decode: (flag) => flag === "Y",
  encode: (flag) => (flag ? "Y" : "N")
})
