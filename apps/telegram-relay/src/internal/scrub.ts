/** Takes secrets out of text before it is logged: the bot token appears in Telegram's file URLs. */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.filter((secret) => secret.length >= 6).reduce((out, secret) => out.split(secret).join("[redacted]"), text)

/** An error as one loggable line. */
export const describeError = (error: unknown): string => {
  if (error instanceof Error) {
    const cause = (error as { error?: unknown }).error ?? error.cause
    return cause === undefined
      ? `${error.name}: ${error.message}`
      : `${error.name}: ${error.message} (${describeError(cause)})`
  }
  return String(error)
}
