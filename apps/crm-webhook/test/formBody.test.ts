/** The form reader against `qs`, which it replaces on the hot path: the same objects for what a portal sends. */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as Qs from "qs"
import { parseForm } from "../src/internal/formBody.js"

const options = { depth: 5, parameterLimit: 100 }
const withQs = (body: string) =>
  Qs.parse(body, { depth: 5, parameterLimit: 100, arrayLimit: 0, allowPrototypes: false, plainObjects: true })

// Plain data as a portal's events carry it: nested records of strings, PHP-encoded by `qs`.
const fieldName = FastCheck.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/)
const text = FastCheck.string({ maxLength: 40, unit: "grapheme" })
const record: FastCheck.Arbitrary<Record<string, unknown>> = FastCheck.letrec((tie) => ({
  node: FastCheck.dictionary(fieldName, FastCheck.oneof({ depthSize: "small" }, text, tie("node")), { maxKeys: 6 })
})).node as FastCheck.Arbitrary<Record<string, unknown>>

describe("parseForm", () => {
  it("reads portal bodies exactly as qs does", () => {
    FastCheck.assert(
      FastCheck.property(record, (value) => {
        const body = Qs.stringify(value)
        expect(parseForm(body, options)).toEqual(withQs(body))
      }),
      { numRuns: 1_000 }
    )
  })

  it("reads a real event, with + and escapes, and keeps prototypes out of reach", () => {
    const body =
      "event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=42&ts=1764100000&auth%5Bdomain%5D=demo.bitrix24.com" +
      "&auth%5Bscope%5D=crm%2Cimopenlines&note=a+b%20c&bad=%E0%A4%A"
    expect(parseForm(body, options)).toEqual(withQs(body))
    expect(parseForm(body, options)).toMatchObject({ note: "a b c", bad: "%E0%A4%A", data: { FIELDS: { ID: "42" } } })
    const hostile = parseForm("__proto__%5Bpolluted%5D=1&constructor%5Bprototype%5D%5Bpolluted%5D=1", options)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(hostile)).toBeNull()
  })

  it("is bounded: pairs past the limit are not read, segments past the depth stay one key", () => {
    const many = Array.from({ length: 150 }, (_, index) => `k${index}=v`).join("&")
    expect(Object.keys(parseForm(many, options))).toHaveLength(100)
    expect(parseForm("a[b][c][d][e][f][g][h]=1", options)).toEqual(withQs("a[b][c][d][e][f][g][h]=1"))
  })

  it("gives a repeated key as a list of its values", () => {
    expect(parseForm("event=A&event=B", options)).toEqual({ event: ["A", "B"] })
  })
})
