/**
 * An error answer of the REST server: `{"error": code, "error_description": description}` with its
 * HTTP status. Error answers carry no `time` object (the server adds it to successes only).
 */
export class RestError extends Error {
  constructor(
    readonly code: string,
    readonly description: string,
    readonly status: number,
    /** Extra keys some errors carry, such as `argument` on `ERROR_ARGUMENT`. */
    readonly additional: Readonly<Record<string, string>> = {}
  ) {
    super(`${code}: ${description}`)
  }

  body(): Record<string, string> {
    return { error: this.code, error_description: this.description, ...this.additional }
  }
}

/** The server's own errors, with the texts and statuses its code gives them. */
export const systemErrors = {
  methodNotFound: () => new RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404),
  noAuth: () => new RestError("NO_AUTH_FOUND", "Wrong authorization data", 401),
  invalidCredentials: () => new RestError("INVALID_CREDENTIALS", "Invalid request credentials", 401),
  insufficientScopeWebhook: () =>
    new RestError(
      "insufficient_scope",
      "The request requires higher privileges than provided by the webhook token",
      401
    ),
  insufficientScopeToken: () =>
    new RestError(
      "insufficient_scope",
      "The request requires higher privileges than provided by the access token",
      401
    ),
  expiredToken: () => new RestError("expired_token", "The access token provided has expired", 401),
  invalidToken: () => new RestError("invalid_token", "The access token provided is invalid", 401),
  queryLimit: () => new RestError("QUERY_LIMIT_EXCEEDED", "Too many requests", 503),
  operationTimeLimit: () =>
    new RestError("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429),
  portalDeleted: () => new RestError("PORTAL_DELETED", "Portal was deleted", 403),
  httpsRequired: () => new RestError("INVALID_REQUEST", "Https required.", 401),
  overloaded: () => new RestError("OVERLOAD_LIMIT", "REST API is blocked due to overload.", 401),
  restUnavailable: () => new RestError("ACCESS_DENIED", "REST is available only on commercial plans.", 401),
  userAccessDenied: () => new RestError("user_access_error", "The user does not have access to the application.", 401),
  wrongAuthType: () => new RestError("WRONG_AUTH_TYPE", "Current authorization type is denied for this method", 403),
  argumentNull: (argument: string) =>
    new RestError("ERROR_ARGUMENT", `Argument '${argument}' is null or empty`, 400, { argument }),
  internal: () => new RestError("INTERNAL_SERVER_ERROR", "Internal server error", 500)
} as const
