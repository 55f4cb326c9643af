/** Reading what reached the caller: was it Bitrix24's QUERY_LIMIT_EXCEEDED, whichever client threw it? */

const codeOf = (error: unknown): string => {
  if (typeof error !== "object" || error === null) return String(error)
  const record = error as Record<string, unknown>
  const response = record.response as { body?: { error?: unknown } } | undefined
  return [record._tag, record.code, record.message, response?.body?.error, String(error)].join(" ")
}

export const isQueryLimit = (error: unknown): boolean => /QUERY_LIMIT_EXCEEDED|QueryLimitExceeded/.test(codeOf(error))

/** Resolves after `ms`, then reads `read()`: a figure taken exactly at a window's end. */
export const at = <A>(ms: number, read: () => A): Promise<A> =>
  new Promise((resolve) => setTimeout(() => resolve(read()), ms))
