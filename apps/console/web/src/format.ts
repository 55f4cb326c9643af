/** Times as an operator reads them: the local date and time, and how far away. */
export const time = (ms: number | undefined | null): string =>
  ms === undefined || ms === null
    ? "—"
    : new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })

export const relative = (ms: number, now: number = Date.now()): string => {
  const seconds = Math.round((ms - now) / 1000)
  const size = Math.abs(seconds)
  const text =
    size < 60
      ? `${size} s`
      : size < 3600
        ? `${Math.floor(size / 60)} min`
        : size < 86_400
          ? `${Math.floor(size / 3600)} h ${Math.floor((size % 3600) / 60)} min`
          : `${Math.floor(size / 86_400)} d ${Math.floor((size % 86_400) / 3600)} h`
  return seconds >= 0 ? `in ${text}` : `${text} ago`
}

export const shortLine = (code: string): string => (code.length > 12 ? `${code.slice(0, 8)}…` : code)
