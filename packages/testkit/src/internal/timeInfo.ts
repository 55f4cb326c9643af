/**
 * The `time` object the server appends to every successful answer, in the server's field order.
 * `start` is whole seconds (the PHP 8 server keeps its timers as integers), `finish` fractional.
 */
export interface TimeInfo {
  readonly start: number
  readonly finish: number
  readonly duration: number
  readonly processing: number
  readonly date_start: string
  readonly date_finish: string
  readonly operating_reset_at?: number
  readonly operating?: number
}

/** PHP's `date('c')`: ISO 8601 in the portal's offset, e.g. `2026-03-17T12:46:27+03:00`. */
export const phpDateC = (unixMs: number, utcOffsetMinutes: number): string => {
  const shifted = new Date(Math.floor(unixMs / 1000) * 1000 + utcOffsetMinutes * 60_000)
  const sign = utcOffsetMinutes < 0 ? "-" : "+"
  const absolute = Math.abs(utcOffsetMinutes)
  const offset = `${sign}${String(Math.floor(absolute / 60)).padStart(2, "0")}:${String(absolute % 60).padStart(2, "0")}`
  return `${shifted.toISOString().slice(0, 19)}${offset}`
}

export const makeTimeInfo = (options: {
  readonly startMs: number
  readonly durationSeconds: number
  readonly utcOffsetMinutes: number
  readonly operating?: { readonly operating: number; readonly resetAt: number } | undefined
}): TimeInfo => {
  const start = Math.floor(options.startMs / 1000)
  const finish = options.startMs / 1000 + options.durationSeconds
  const finishMs = finish * 1000
  return {
    start,
    finish,
    duration: finish - start,
    processing: 0,
    date_start: phpDateC(options.startMs, options.utcOffsetMinutes),
    date_finish: phpDateC(finishMs, options.utcOffsetMinutes),
    ...(options.operating
      ? { operating_reset_at: options.operating.resetAt, operating: options.operating.operating }
      : {})
  }
}
