import type { ComponentChildren } from "preact"
import type { Preview, State } from "../api"
import { ChatMessage } from "../ChatMessage"

export const Problem = ({ message }: { readonly message: string | undefined }) =>
  message === undefined ? null : (
    <p class="problem" role="alert" data-testid="problem">
      {message}
    </p>
  )

export const StateBadge = ({ state }: { readonly state: State }) => (
  <span class={`badge state-${state}`} data-testid="state">
    {state}
  </span>
)

export const Unknown = () => <span class="muted">not measured</span>

export const Validation = ({ validation }: { readonly validation: Preview["validation"] }) =>
  validation.ok ? (
    <article class="validation ok" data-testid="validation">
      <strong>✓ Valid</strong> for Bitrix24's checks.
      {validation.attachmentSize === undefined ? null : (
        <p>
          Attachment: {validation.attachmentSize.toLocaleString()} of {validation.attachmentLimit.toLocaleString()}{" "}
          characters.
        </p>
      )}
    </article>
  ) : (
    <article class="validation refused" data-testid="validation">
      <strong>✗ {validation.code}</strong>
      {validation.field === undefined ? null : <span> on {validation.field}</span>}
      {validation.rule === undefined ? null : <span>: {validation.rule}</span>}
      <p>{validation.message}</p>
    </article>
  )

export const PreviewPane = ({
  preview,
  children
}: {
  readonly preview: Preview
  readonly children?: ComponentChildren
}) => (
  <div class="grid preview-pane">
    <div class="chat" data-testid="chat-preview">
      {preview.wire === undefined ? <p class="muted">Nothing to show.</p> : <ChatMessage wire={preview.wire} />}
    </div>
    <div>
      <Validation validation={preview.validation} />
      {children}
    </div>
  </div>
)

export const Pager = ({
  total,
  offset,
  limit,
  onOffset
}: {
  readonly total: number
  readonly offset: number
  readonly limit: number
  readonly onOffset: (offset: number) => void
}) => (
  <nav class="pager">
    <button
      type="button"
      class="secondary outline"
      disabled={offset === 0}
      onClick={() => onOffset(Math.max(0, offset - limit))}
    >
      ← Newer
    </button>
    <span data-testid="page-range">
      {total === 0 ? "none" : `${offset + 1}–${Math.min(total, offset + limit)} of ${total.toLocaleString()}`}
    </span>
    <button
      type="button"
      class="secondary outline"
      disabled={offset + limit >= total}
      onClick={() => onOffset(offset + limit)}
    >
      Older →
    </button>
  </nav>
)
