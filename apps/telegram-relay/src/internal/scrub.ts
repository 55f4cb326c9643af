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
