/** A plain HTTP client for the emulator's own tests: what curl or a PHP-style client would send. */
import * as Qs from "qs"

export interface Answer {
  readonly status: number
  readonly body: any
}

export type Encoding = "form" | "json" | "query"

export const call = async (
  url: string,
  params: Record<string, unknown> = {},
  options: { readonly encoding?: Encoding; readonly headers?: Record<string, string> } = {}
): Promise<Answer> => {
  const encoding = options.encoding ?? "form"
  const response =
    encoding === "query"
      ? await fetch(`${url}?${Qs.stringify(params)}`, { headers: options.headers ?? {} })
      : await fetch(url, {
          method: "POST",
          headers: {
            "content-type": encoding === "json" ? "application/json" : "application/x-www-form-urlencoded",
            ...options.headers
          },
          body: encoding === "json" ? JSON.stringify(params) : Qs.stringify(params)
        })
  const text = await response.text()
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
}
