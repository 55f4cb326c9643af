import { useState } from "preact/hooks"
import { get, type InboxMessage } from "../api"
import { ChatMessage } from "../ChatMessage"
import { time } from "../format"
import { usePoll } from "../poll"
import { Problem } from "./common"

export const Inbox = () => {
  const [user, setUser] = useState("")
  const inbox = usePoll(
    () =>
      get<{ users: ReadonlyArray<{ id: number; name: string }>; messages: ReadonlyArray<InboxMessage> }>(
        `inboxes${user === "" ? "" : `?user=${user}`}`
      ),
    user
  )
  const names = new Map((inbox.data?.users ?? []).map((known) => [known.id, known.name]))
  return (
    <section data-testid="inbox">
      <h2>Emulated inboxes</h2>
      <p class="muted">What the emulated portal's users received, newest first, as their chat shows it.</p>
      <label>
        User
        <select value={user} onChange={(event) => setUser((event.target as HTMLSelectElement).value)}>
          <option value="">everyone</option>
          {(inbox.data?.users ?? []).map((known) => (
            <option key={known.id} value={String(known.id)}>
              {known.id} · {known.name}
            </option>
          ))}
        </select>
      </label>
      <Problem message={inbox.error} />
      {inbox.data?.messages.length === 0 ? <p>No message yet. Add a deal in the emulated portal.</p> : null}
      <div class="chat">
        {(inbox.data?.messages ?? []).map((message) => (
          <div key={message.id} data-testid="inbox-message" data-user={message.userId}>
            <small class="muted">to {names.get(message.userId) ?? `user ${message.userId}`}</small>
            <ChatMessage
              wire={{ MESSAGE: message.message, ATTACH: message.attach, KEYBOARD: message.keyboard }}
              at={time(message.receivedAt)}
            />
          </div>
        ))}
      </div>
    </section>
  )
}
