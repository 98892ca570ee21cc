/** Pieces the administration pages share: a modal dialog, a copyable value, error texts. */
import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import type { Translate } from "../i18n/i18n";
import { ApiError } from "../services/apiClient";

/** The API's own message (already phrased for people), or a network sentence. */
export function apiErrorText(error: unknown, t: Translate): string {
  if (error instanceof ApiError) return error.status === 0 ? t("admin.error.network") : error.message;
  return String(error);
}

/**
 * Which form field an API error is about: the daemon names the field in its 400 message
 * ("username: expected …"), and a 409 about a name is about the name field.
 */
export function errorField(error: unknown, fields: readonly string[]): string | null {
  if (!(error instanceof ApiError)) return null;
  for (const field of fields) {
    if (error.message.startsWith(`${field}:`)) return field;
  }
  if (error.status === 409 && fields.length > 0) return fields[0] ?? null;
  return null;
}

const FOCUSABLE = "input:not([hidden]), select, textarea, button:not([disabled]), a[href]";

/** Tab and Shift+Tab cycle within the dialog, so the keyboard never lands on the page behind it. */
function keepFocusInside(event: KeyboardEvent<HTMLDivElement>, dialog: HTMLDivElement | null) {
  const focusable = Array.from(dialog?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? []);
  const first = focusable[0];
  const last = focusable.at(-1);
  if (first === undefined || last === undefined) return;
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

interface DialogProps {
  title: string;
  onClose(): void;
  children: ReactNode;
  testId?: string;
}

/** A modal dialog: focus moves into it, Escape closes it, focus returns where it was. */
export function Dialog({ title, onClose, children, testId }: DialogProps) {
  const titleId = useId();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const first = ref.current?.querySelector<HTMLElement>("input, select, textarea, button:not([data-close])");
    (first ?? ref.current)?.focus();
    return () => previous?.focus();
  }, []);
  return (
    <div className="dialog-backdrop">
      <div
        ref={ref}
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        data-testid={testId}
        onKeyDown={(event) => {
          if (event.key === "Escape") onClose();
          if (event.key === "Tab") keepFocusInside(event, ref.current);
        }}
      >
        <div className="dialog__header">
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="button button--ghost button--small" data-close onClick={onClose}>
            ×
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}

interface ConfirmProps {
  title: string;
  message: string;
  confirmLabel: string;
  t: Translate;
  onConfirm(): Promise<void>;
  onClose(): void;
}

/** "Are you sure?" with the API's error shown in place when the action is refused. */
export function ConfirmDialog({ title, message, confirmLabel, t, onConfirm, onClose }: ConfirmProps) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={title} onClose={onClose} testId="confirm-dialog">
      <p>{message}</p>
      {error !== null && (
        <p className="notice notice--error" role="alert">
          {error}
        </p>
      )}
      <div className="dialog__actions">
        <button type="button" className="button" onClick={onClose}>
          {t("admin.cancel")}
        </button>
        <button
          type="button"
          className="button button--danger"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            setError(null);
            onConfirm().then(onClose, (caught: unknown) => {
              setError(apiErrorText(caught, t));
              setBusy(false);
            });
          }}
        >
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

/** A read-only value with a copy button (the clipboard, or a selected text to copy by hand). */
export function CopyField({ label, value, t, testId }: { label: string; value: string; t: Translate; testId: string }) {
  const id = useId();
  const [copied, setCopied] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  return (
    <div className="field copy-field">
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      <div className="copy-field__row">
        <textarea
          id={id}
          ref={ref}
          readOnly
          rows={value.length > 80 ? 3 : 1}
          value={value}
          data-testid={testId}
          spellCheck={false}
          onFocus={(event) => event.currentTarget.select()}
        />
        <button
          type="button"
          className="button"
          data-testid={`${testId}-copy`}
          onClick={() => {
            ref.current?.select();
            void navigator.clipboard?.writeText(value).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? t("admin.copied") : t("admin.copy")}
        </button>
      </div>
    </div>
  );
}

/** A form field's error, tied to its input by id for screen readers. */
export function FieldError({ id, message }: { id: string; message: string | null }) {
  if (message === null) return null;
  return (
    <span id={id} className="field__error" role="alert">
      {message}
    </span>
  );
}
