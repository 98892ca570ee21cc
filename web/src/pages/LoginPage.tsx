import { useState, type FormEvent } from "react";
import { useI18n, type Translate } from "../i18n/i18n";
import { navigate, safeNextPath } from "../lib/router";
import { api } from "../services/api";
import { ApiError } from "../services/apiClient";
import { useAuthStore } from "../store/authStore";

/** The sentence to show for a failed login; the daemon's own message for the unexpected. */
export function loginErrorText(error: unknown, t: Translate): string {
  if (!(error instanceof ApiError)) return t("login.error.other", { message: String(error) });
  if (error.status === 401) return t("login.error.badCredentials");
  if (error.status === 429) {
    return error.retryAfterSeconds === null
      ? t("login.error.tooMany")
      : t("login.error.tooManyRetry", { seconds: error.retryAfterSeconds });
  }
  if (error.status === 0) return t("login.error.network");
  return t("login.error.other", { message: error.message });
}

interface LoginPageProps {
  /** Where to go after signing in (already validated as a same-origin path). */
  next: string;
}

export function LoginPage({ next }: LoginPageProps) {
  const { t } = useI18n();
  const endReason = useAuthStore((state) => state.endReason);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSubmitting(true);
    setError(null);
    try {
      const response = await api.login({ username, password });
      useAuthStore.getState().login(response);
      navigate(safeNextPath(next), { replace: true });
    } catch (caught) {
      setError(loginErrorText(caught, t));
      setSubmitting(false);
    }
  }

  const notice =
    endReason === "session_expired"
      ? t("login.notice.sessionExpired")
      : endReason === "logged_out"
        ? t("login.notice.loggedOut")
        : null;

  return (
    <main className="login">
      <form className="login__card" onSubmit={handleSubmit} noValidate>
        <h1 className="login__title">{t("login.title")}</h1>
        {notice !== null && error === null && (
          <p className="notice" role="status" data-testid="login-notice">
            {notice}
          </p>
        )}
        {error !== null && (
          <p className="notice notice--error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <label className="field">
          <span className="field__label">{t("login.username")}</span>
          <input
            name="username"
            autoComplete="username"
            required
            value={username}
            onChange={(event) => setUsername(event.target.value)}
          />
        </label>
        <label className="field">
          <span className="field__label">{t("login.password")}</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        <button type="submit" className="button button--primary" disabled={submitting}>
          {submitting ? t("login.submitting") : t("login.submit")}
        </button>
      </form>
    </main>
  );
}
