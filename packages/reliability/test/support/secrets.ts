/**
 * The secrets scan: every text a test collected (logs, error outputs, metrics, answers, requests to
 * hosts other than the portal) searched for every secret in use, raw and URL-encoded.
 */
export interface SecretHit {
  readonly secret: string
  readonly where: string
}

export const findSecrets = (
  texts: ReadonlyArray<{ readonly where: string; readonly text: string }>,
  secrets: ReadonlyArray<{ readonly name: string; readonly value: string }>
): ReadonlyArray<SecretHit> => {
  const hits: Array<SecretHit> = []
  for (const { name, value } of secrets) {
    // Short values would match by chance; every real secret here is long.
    if (value.length < 8) throw new Error(`The secret ${name} is too short to scan for`)
    const forms = new Set([value, encodeURIComponent(value)])
    for (const { where, text } of texts) {
      if ([...forms].some((form) => text.includes(form))) hits.push({ secret: name, where })
    }
  }
  return hits
}
