/**
 * A portal's CRM records (deals, contacts, leads) with Bitrix24's own field names. Values are kept
 * as the REST API returns them: strings, ids included. Every change raises the matching event
 * (`ONCRMDEALADD`, `ONCRMDEALUPDATE`, `ONCRMDEALDELETE`, ...).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export type CrmEntity = "deal" | "contact" | "lead"

/**
 * @since 0.1.0
 * @category models
 */
export type CrmFields = Record<string, unknown>

/**
 * @since 0.1.0
 * @category models
 */
export type CrmChange = "ADD" | "UPDATE" | "DELETE"

/**
 * The event a change raises, e.g. `ONCRMDEALADD`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const crmEventName = (entity: CrmEntity, change: CrmChange): string => `ONCRM${entity.toUpperCase()}${change}`

const timestamp = (now: number) => new Date(now).toISOString().replace(/\.\d{3}Z$/, "+00:00")

const defaults = (entity: CrmEntity): CrmFields => {
  switch (entity) {
    case "deal":
      return {
        TITLE: "",
        STAGE_ID: "NEW",
        CATEGORY_ID: "0",
        OPPORTUNITY: "0.00",
        CURRENCY_ID: "USD",
        CONTACT_ID: null,
        COMPANY_ID: "0",
        COMMENTS: null,
        CLOSED: "N"
      }
    case "lead":
      return {
        TITLE: "",
        NAME: "",
        LAST_NAME: "",
        STATUS_ID: "NEW",
        OPPORTUNITY: "0.00",
        CURRENCY_ID: "USD",
        COMMENTS: null
      }
    case "contact":
      return { NAME: "", LAST_NAME: "", POST: "", COMMENTS: null, TYPE_ID: "CLIENT" }
  }
}

/** Bitrix24 returns scalar field values as strings. */
const asStored = (value: unknown): unknown =>
  typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : value

const operators = [">=", "<=", "!=", "=", "!", ">", "<", "%"] as const

const matches = (record: CrmFields, key: string, expected: unknown): boolean => {
  const operator = operators.find((candidate) => key.startsWith(candidate)) ?? ""
  const field = key.slice(operator.length)
  const actual = record[field]
  const values = (Array.isArray(expected) ? expected : [expected]).map((value) => String(value))
  const text = actual === null || actual === undefined ? "" : String(actual)
  const number = Number(text)
  switch (operator) {
    case "":
    case "=":
      return values.includes(text)
    case "!":
    case "!=":
      return !values.includes(text)
    case ">":
      return number > Number(values[0])
    case "<":
      return number < Number(values[0])
    case ">=":
      return number >= Number(values[0])
    case "<=":
      return number <= Number(values[0])
    case "%":
      return text.toLowerCase().includes(String(values[0]).toLowerCase())
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CrmListOptions {
  readonly filter?: Readonly<Record<string, unknown>> | undefined
  readonly select?: ReadonlyArray<string> | undefined
  readonly order?: Readonly<Record<string, string>> | undefined
  readonly start?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export class CrmStore {
  private readonly records: Record<CrmEntity, Map<string, CrmFields>> = {
    deal: new Map(),
    contact: new Map(),
    lead: new Map()
  }
  private nextId: Record<CrmEntity, number> = { deal: 1, contact: 1, lead: 1 }

  /**
   * @param onChange called after every change with the event it raises and the acting user
   * (undefined for a change made without a user, as through the control API).
   */
  constructor(
    private readonly clock: () => number,
    private readonly onChange: (event: string, id: string, userId: number | undefined) => void
  ) {}

  get(entity: CrmEntity, id: string): CrmFields | undefined {
    const record = this.records[entity].get(id)
    return record === undefined ? undefined : { ...record }
  }

  add(entity: CrmEntity, fields: CrmFields, userId?: number): string {
    const id = String(this.nextId[entity]++)
    const now = timestamp(this.clock())
    const author = String(userId ?? 1)
    const record: CrmFields = {
      ID: id,
      ...defaults(entity),
      ASSIGNED_BY_ID: author,
      CREATED_BY_ID: author,
      MODIFY_BY_ID: author,
      DATE_CREATE: now,
      DATE_MODIFY: now
    }
    for (const [key, value] of Object.entries(fields)) if (key !== "ID") record[key.toUpperCase()] = asStored(value)
    this.records[entity].set(id, record)
    this.onChange(crmEventName(entity, "ADD"), id, userId)
    return id
  }

  update(entity: CrmEntity, id: string, fields: CrmFields, userId?: number): boolean {
    const record = this.records[entity].get(id)
    if (record === undefined) return false
    for (const [key, value] of Object.entries(fields)) if (key !== "ID") record[key.toUpperCase()] = asStored(value)
    record.DATE_MODIFY = timestamp(this.clock())
    record.MODIFY_BY_ID = String(userId ?? record.MODIFY_BY_ID)
    this.onChange(crmEventName(entity, "UPDATE"), id, userId)
    return true
  }

  delete(entity: CrmEntity, id: string, userId?: number): boolean {
    if (!this.records[entity].delete(id)) return false
    this.onChange(crmEventName(entity, "DELETE"), id, userId)
    return true
  }

  /** Records matching the filter, with the selected fields, 50 a page from `start`. */
  list(entity: CrmEntity, options: CrmListOptions = {}): { readonly items: Array<CrmFields>; readonly total: number } {
    let items = [...this.records[entity].values()].filter((record) =>
      Object.entries(options.filter ?? {}).every(([key, value]) => matches(record, key.toUpperCase(), value))
    )
    const [orderField, direction] = Object.entries(options.order ?? { ID: "ASC" })[0] ?? ["ID", "ASC"]
    const field = orderField.toUpperCase()
    const sign = direction.toUpperCase() === "DESC" ? -1 : 1
    items = items.sort((left, right) => {
      const a = String(left[field] ?? "")
      const b = String(right[field] ?? "")
      const numeric = Number(a) - Number(b)
      return sign * (Number.isNaN(numeric) ? a.localeCompare(b) : numeric)
    })
    const select = (options.select ?? []).map((name) => name.toUpperCase())
    const page = items
      .slice(options.start ?? 0, (options.start ?? 0) + 50)
      .map((record) =>
        select.length === 0 || select.includes("*")
          ? { ...record }
          : Object.fromEntries(
              ["ID", ...select.filter((name) => name !== "ID")].map((name) => [name, record[name] ?? null])
            )
      )
    return { items: page, total: items.length }
  }
}
