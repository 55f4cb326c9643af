import { useState } from "preact/hooks"
import { get, type Preview, post, type Session } from "../api"
import { PreviewPane, Problem } from "./common"

const example = (session: Session) =>
  JSON.stringify(
    {
      CODE: session.lineCodes[0] ?? "0123456789abcdef0123456789abcdef",
      USER_ID: 2,
      MESSAGE: "New deal [b]First order[/b] is yours.[br]Amount: 1200 EUR",
      ATTACH: [{ MESSAGE: "Assigned by [b]Anna[/b]" }, { GRID: [{ NAME: "Stage", VALUE: "New", DISPLAY: "LINE" }] }],
      KEYBOARD: [{ TEXT: "Open the deal", LINK: "https://example.bitrix24.com/crm/deal/details/1/" }]
    },
    null,
    2
  )

export const PreviewView = ({ session }: { readonly session: Session }) => {
  const [source, setSource] = useState(() => example(session))
  const [fromId, setFromId] = useState("")
  const [preview, setPreview] = useState<Preview | undefined>(undefined)
  const [failure, setFailure] = useState<string | undefined>(undefined)
  const show = () => {
    let wire: unknown
    try {
      wire = JSON.parse(source)
    } catch {
      setFailure("The message is not valid JSON.")
      return
    }
    post<Preview>("preview", { wire }).then(
      (answer) => {
        setFailure(undefined)
        setPreview(answer)
      },
      (error: Error) => setFailure(error.message)
    )
  }
  const load = () =>
    get<{ preview: Preview }>(`messages/${encodeURIComponent(fromId.trim())}`).then(
      (answer) => {
        setFailure(undefined)
        setSource(JSON.stringify(answer.preview.wire, null, 2))
        setPreview(answer.preview)
      },
      (error: Error) => setFailure(error.message)
    )
  return (
    <section data-testid="preview">
      <h2>Preview</h2>
      <p class="muted">
        A message in Bitrix24's wire form (<code>CODE</code>, <code>USER_ID</code>, <code>MESSAGE</code>,{" "}
        <code>ATTACH</code>, <code>KEYBOARD</code>) as the chat shows it, with the checks Bitrix24 makes.
      </p>
      <fieldset class="load-row">
        <input
          placeholder="or load a message from the outbox by id"
          value={fromId}
          onInput={(event) => setFromId((event.target as HTMLInputElement).value)}
        />
        <button type="button" class="secondary" onClick={load}>
          Load
        </button>
      </fieldset>
      <textarea
        rows={12}
        class="source"
        value={source}
        onInput={(event) => setSource((event.target as HTMLTextAreaElement).value)}
      />
      <button type="button" onClick={show} data-testid="preview-show">
        Preview
      </button>
      <Problem message={failure} />
      {preview === undefined ? null : <PreviewPane preview={preview} />}
    </section>
  )
}
