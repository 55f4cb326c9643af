/**
 * `crm.deal.*`, `crm.contact.*` and `crm.lead.*`: `get`, `add`, `update`, `delete`, `list` with
 * `filter`/`select`/`order`/`start`. The classic CRM methods answer their own errors with an empty
 * `error` code and a description ("Not found"), and `list` pages by 50 with `next` and `total`.
 */
import type { CrmEntity, CrmFields } from "../../Crm.js"
import { intval, isPhpArray, phpValues, upperKeys } from "../php.js"
import { RestError } from "../restError.js"
import type { Method } from "./method.js"
import { Paged } from "./method.js"

const crmError = (description: string) => new RestError("", description, 400)

const recordId = (value: unknown): string => {
  const id = intval(value ?? null)
  if (id <= 0) throw crmError("ID is not defined or invalid.")
  return String(id)
}

const fieldsOf = (value: unknown): CrmFields => {
  if (!isPhpArray(value) || Array.isArray(value)) throw crmError("Parameter 'fields' must be array.")
  return value as CrmFields
}

const actingUser = (auth: { readonly type: string; readonly userId: number }) => auth.userId

/** The five methods of one CRM entity. */
export const crmMethods = (entity: CrmEntity): ReadonlyArray<readonly [string, Method]> => [
  [
    `crm.${entity}.get`,
    {
      scope: "crm",
      run: ({ portal, params }) => {
        const record = portal.crm.get(entity, recordId(upperKeys(params).ID))
        if (record === undefined) throw crmError("Not found")
        return record
      }
    }
  ],
  [
    `crm.${entity}.add`,
    {
      scope: "crm",
      run: ({ portal, params, auth }) =>
        Number(portal.crm.add(entity, fieldsOf(upperKeys(params).FIELDS), actingUser(auth)))
    }
  ],
  [
    `crm.${entity}.update`,
    {
      scope: "crm",
      run: ({ portal, params, auth }) => {
        const query = upperKeys(params)
        const id = recordId(query.ID)
        if (!portal.crm.update(entity, id, fieldsOf(query.FIELDS ?? {}), actingUser(auth))) throw crmError("Not found")
        return true
      }
    }
  ],
  [
    `crm.${entity}.delete`,
    {
      scope: "crm",
      run: ({ portal, params, auth }) => {
        if (!portal.crm.delete(entity, recordId(upperKeys(params).ID), actingUser(auth))) throw crmError("Not found")
        return true
      }
    }
  ],
  [
    `crm.${entity}.list`,
    {
      scope: "crm",
      run: ({ portal, params }) => {
        const query = upperKeys(params)
        const map = (value: unknown) =>
          isPhpArray(value) && !Array.isArray(value) ? (value as Record<string, never>) : undefined
        const start = Math.max(0, intval(query.START ?? 0))
        const { items, total } = portal.crm.list(entity, {
          filter: map(query.FILTER),
          order: map(query.ORDER),
          select: isPhpArray(query.SELECT) ? phpValues(query.SELECT).map(String) : undefined,
          start
        })
        return new Paged(items, total, start + items.length < total ? start + items.length : undefined)
      }
    }
  ]
]
