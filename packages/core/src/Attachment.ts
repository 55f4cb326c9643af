/**
 * Attachments (`ATTACH`): the schema of every block type in both forms the server accepts (the full
 * form `{ID, COLOR, COLOR_TOKEN, DESCRIPTION, BLOCKS}` and the short form, the array of blocks alone),
 * camelCase inside and Bitrix24's names on the wire, and builders for the blocks.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { optional, required } from "./internal/wire.js"

const url = Schema.String.annotations({ description: "a URL starting with /, http:// or https://" })
const positiveInt = Schema.Int.pipe(Schema.positive())

/**
 * `primary`, `secondary`, `alert` or `base`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ColorToken = Schema.Literal("primary", "secondary", "alert", "base")

/**
 * @since 0.1.0
 * @category schemas
 */
export const AttachmentUser = Schema.Struct({
  name: required(Schema.String, "NAME"),
  networkId: optional(Schema.String, "NETWORK_ID"),
  userId: optional(positiveInt, "USER_ID"),
  chatId: optional(positiveInt, "CHAT_ID"),
  botId: optional(positiveInt, "BOT_ID"),
  link: optional(url, "LINK"),
  avatar: optional(url, "AVATAR"),
  avatarType: optional(Schema.Literal("CHAT", "USER", "BOT"), "AVATAR_TYPE")
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const AttachmentLink = Schema.Struct({
  name: optional(Schema.String, "NAME"),
  link: optional(url, "LINK"),
  networkId: optional(Schema.String, "NETWORK_ID"),
  userId: optional(positiveInt, "USER_ID"),
  chatId: optional(positiveInt, "CHAT_ID"),
  description: optional(Schema.String, "DESC"),
  html: optional(Schema.String, "HTML"),
  preview: optional(url, "PREVIEW"),
  width: optional(positiveInt, "WIDTH"),
  height: optional(positiveInt, "HEIGHT")
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const AttachmentRichLink = Schema.Struct({
  ...AttachmentLink.fields,
  extraImage: optional(url, "EXTRA_IMAGE")
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const AttachmentGridItem = Schema.Struct({
  display: optional(Schema.Literal("BLOCK", "LINE", "ROW", "TABLE", "CARD", "COLUMN"), "DISPLAY"),
  name: optional(Schema.String, "NAME"),
  value: optional(Schema.String, "VALUE"),
  color: optional(Schema.String, "COLOR"),
  width: optional(positiveInt, "WIDTH"),
  height: optional(positiveInt, "HEIGHT"),
  userId: optional(positiveInt, "USER_ID"),
  chatId: optional(positiveInt, "CHAT_ID"),
  link: optional(url, "LINK")
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const AttachmentImage = Schema.Struct({
  link: required(url, "LINK"),
  name: optional(Schema.String, "NAME"),
  width: optional(positiveInt, "WIDTH"),
  height: optional(positiveInt, "HEIGHT"),
  preview: optional(url, "PREVIEW")
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const AttachmentFile = Schema.Struct({
  link: required(url, "LINK"),
  name: optional(Schema.String, "NAME"),
  size: optional(positiveInt, "SIZE")
})

const oneOrMany = <S extends Schema.Schema.Any>(item: S) => Schema.Union(item, Schema.Array(item))

/**
 * A text block: a string, or `{TEXT, AS_DESCRIPTION: "Y"}`. `#BR#` is a line break.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MessageBlock = Schema.Struct({
  message: required(
    Schema.Union(
      Schema.String,
      Schema.Struct({
        text: required(Schema.String, "TEXT"),
        asDescription: optional(Schema.Literal("Y"), "AS_DESCRIPTION")
      })
    ),
    "MESSAGE"
  )
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const UserBlock = Schema.Struct({ user: required(oneOrMany(AttachmentUser), "USER") })

/**
 * @since 0.1.0
 * @category schemas
 */
export const LinkBlock = Schema.Struct({ link: required(oneOrMany(AttachmentLink), "LINK") })

/**
 * @since 0.1.0
 * @category schemas
 */
export const RichLinkBlock = Schema.Struct({ richLink: required(oneOrMany(AttachmentRichLink), "RICH_LINK") })

/**
 * @since 0.1.0
 * @category schemas
 */
export const GridBlock = Schema.Struct({ grid: required(Schema.Array(AttachmentGridItem), "GRID") })

/**
 * @since 0.1.0
 * @category schemas
 */
export const ImageBlock = Schema.Struct({ image: required(oneOrMany(AttachmentImage), "IMAGE") })

/**
 * @since 0.1.0
 * @category schemas
 */
export const FileBlock = Schema.Struct({ file: required(oneOrMany(AttachmentFile), "FILE") })

/**
 * A horizontal rule; `size` in pixels (200 when missing).
 *
 * @since 0.1.0
 * @category schemas
 */
export const DelimiterBlock = Schema.Struct({
  delimiter: required(
    Schema.Struct({ size: optional(positiveInt, "SIZE"), color: optional(Schema.String, "COLOR") }),
    "DELIMITER"
  )
})

/**
 * One block of an attachment.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AttachmentBlock = Schema.Union(
  UserBlock,
  LinkBlock,
  RichLinkBlock,
  MessageBlock,
  GridBlock,
  ImageBlock,
  FileBlock,
  DelimiterBlock
)

/**
 * @since 0.1.0
 * @category models
 */
export type AttachmentBlock = typeof AttachmentBlock.Type

/**
 * The full form. The server ignores the incoming `ID`; `COLOR` is `#RGB`, `#RRGGBB` or `TRANSPARENT`
 * (anything else becomes a random colour); `COLOR_TOKEN` is documented and kept.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FullAttachment = Schema.Struct({
  id: optional(Schema.Int, "ID"),
  color: optional(Schema.String, "COLOR"),
  colorToken: optional(ColorToken, "COLOR_TOKEN"),
  description: optional(Schema.String, "DESCRIPTION"),
  blocks: required(Schema.Array(AttachmentBlock), "BLOCKS")
})

/**
 * An attachment in either form: full, or the short array of blocks.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Attachment = Schema.Union(FullAttachment, Schema.Array(AttachmentBlock))

/**
 * @since 0.1.0
 * @category models
 */
export type Attachment = typeof Attachment.Type

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  blocks: ReadonlyArray<AttachmentBlock>,
  options: { readonly color?: string; readonly colorToken?: typeof ColorToken.Type; readonly description?: string } = {}
): Attachment => ({ ...options, blocks })

/**
 * A text block (BB codes allowed).
 *
 * @since 0.1.0
 * @category builders
 */
export const message = (text: string): AttachmentBlock => ({ message: text })

/**
 * @since 0.1.0
 * @category builders
 */
export const link = (target: typeof AttachmentLink.Type): AttachmentBlock => ({ link: target })

/**
 * @since 0.1.0
 * @category builders
 */
export const richLink = (target: typeof AttachmentRichLink.Type): AttachmentBlock => ({ richLink: target })

/**
 * @since 0.1.0
 * @category builders
 */
export const user = (target: typeof AttachmentUser.Type): AttachmentBlock => ({ user: target })

/**
 * A grid of name/value items, e.g. the fields of a CRM deal.
 *
 * @since 0.1.0
 * @category builders
 */
export const grid = (items: ReadonlyArray<typeof AttachmentGridItem.Type>): AttachmentBlock => ({ grid: items })

/**
 * @since 0.1.0
 * @category builders
 */
export const image = (
  images: typeof AttachmentImage.Type | ReadonlyArray<typeof AttachmentImage.Type>
): AttachmentBlock => ({
  image: images
})

/**
 * @since 0.1.0
 * @category builders
 */
export const file = (
  files: typeof AttachmentFile.Type | ReadonlyArray<typeof AttachmentFile.Type>
): AttachmentBlock => ({
  file: files
})

/**
 * @since 0.1.0
 * @category builders
 */
export const delimiter = (options: { readonly size?: number; readonly color?: string } = {}): AttachmentBlock => ({
  delimiter: options
})
