/** `profile`: the calling user, available without any scope. */
import { RestError } from "../restError.js"
import type { Method } from "./method.js"

export const profile: Method = {
  scope: "_global",
  run: ({ portal, auth }) => {
    const user = portal.users.get(auth.userId)
    if (user === undefined) throw new RestError("authorization_error", "Unable to authorize user", 401)
    return {
      ID: String(user.id),
      ADMIN: user.admin,
      NAME: user.name,
      LAST_NAME: user.lastName,
      PERSONAL_GENDER: "",
      PERSONAL_PHOTO: "",
      TIME_ZONE: "",
      TIME_ZONE_OFFSET: portal.utcOffsetMinutes * 60
    }
  }
}
