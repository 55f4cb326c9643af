/** Hostile bodies from a seeded generator, so that a failing input can be found again. */
export const random = (seed: number) => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  const int = (max: number) => Math.floor(next() * max)
  const pick = <A>(items: ReadonlyArray<A>): A => items[int(items.length)]!
  return { next, int, pick }
}

const pieces = [
  "event",
  "data",
  "[FIELDS]",
  "[ID]",
  "auth",
  "[application_token]",
  "[domain]",
  "ts",
  "[]",
  "[0]",
  "__proto__",
  "constructor",
  "[prototype]",
  "%00",
  "%ZZ",
  "=",
  "&",
  "\u0000",
  "\uD800",
  "🙂",
  "ONCRMDEALADD",
  "ONAPPINSTALL",
  "-1",
  "1e309",
  "NaN",
  "9".repeat(40),
  "[".repeat(64),
  "]"
]

/** One hostile body and the content type it claims. */
export const hostileBody = (
  rng: ReturnType<typeof random>
): { readonly body: string | Uint8Array; readonly contentType: string } => {
  switch (rng.int(5)) {
    case 0: {
      const bytes = new Uint8Array(rng.int(2_048))
      for (let index = 0; index < bytes.length; index++) bytes[index] = rng.int(256)
      return {
        body: bytes,
        contentType: rng.pick(["application/x-www-form-urlencoded", "application/json", "text/plain"])
      }
    }
    case 1: {
      const parts: Array<string> = []
      for (let index = rng.int(40); index > 0; index--) parts.push(rng.pick(pieces))
      return { body: parts.join(""), contentType: "application/x-www-form-urlencoded" }
    }
    case 2: {
      const depth = 1 + rng.int(200)
      return { body: `${"[".repeat(depth)}1${"]".repeat(rng.int(depth + 1))}`, contentType: "application/json" }
    }
    case 3: {
      const keys = 1 + rng.int(5_000)
      const parts: Array<string> = []
      for (let index = 0; index < keys; index++) parts.push(`a[${index}]=${index}`)
      return { body: parts.join("&"), contentType: "application/x-www-form-urlencoded" }
    }
    default: {
      const value = rng.pick([{}, [], null, 1, "x", { event: ["ONCRMDEALADD"] }, { auth: "x", data: { FIELDS: 1 } }])
      return {
        body: JSON.stringify({ event: "ONCRMDEALADD", data: value, auth: value, ts: value }),
        contentType: "application/json"
      }
    }
  }
}
