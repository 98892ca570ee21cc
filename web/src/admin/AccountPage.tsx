/** My account (everyone): change the own password; the daemon signs out the other sessions. */
import { useState, type FormEvent } from "react";
import { useI18n } from "../i18n/i18n";
import { ApiError } from "../services/apiClient";
import { useAuthStore } from "../store/authStore";
import { adminApi, validate } from "./adminApi";
import { apiErrorText, errorField, FieldError } from "./AdminUi";

type Field = "currentPassword" | "newPassword" | "confirm" | "form";

export function AccountPage() {
  const { t } = useI18n();
  const username = useAuthStore((state) => state.session?.user.username ?? "");
  const [values, setValues] = useState({ currentPassword: "", newPassword: "", confirm: "" });
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const found: Partial<Record<Field, string>> = {};
    if (values.currentPassword === "") found.currentPassword = t("admin.error.required");
    if (!validate.password(values.newPassword)) found.newPassword = t("users.error.password");
    else if (values.confirm !== values.newPassword) found.confirm = t("account.error.mismatch");
    setErrors(found);
    setDone(false);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    try {
      // The answer is a fresh session: this tab stays signed in, the others are revoked.
      useAuthStore.getState().login(await adminApi.changeOwnPassword(values.currentPassword, values.newPassword));
      setValues({ currentPassword: "", newPassword: "", confirm: "" });
      setDone(true);
    } catch (caught) {
      const field: Field =
        caught instanceof ApiError && caught.code === "invalid_credentials"
          ? "currentPassword"
          : ((errorField(caught, ["currentPassword", "newPassword"]) as Field | null) ?? "form");
      setErrors({ [field]: apiErrorText(caught, t) });
    } finally {
      setBusy(false);
    }
  }

  const input = (field: Exclude<Field, "form">, label: string, autoComplete: string) => (
    <label className="field">
      <span className="field__label">{label}</span>
      <input
        name={field}
        type="password"
        autoComplete={autoComplete}
        value={values[field]}
        aria-invalid={errors[field] !== undefined}
        aria-describedby={`account-${field}-error`}
        onChange={(event) => setValues({ ...values, [field]: event.target.value })}
      />
      <FieldError id={`account-${field}-error`} message={errors[field] ?? null} />
    </label>
  );

  return (
    <section className="page admin-page" data-testid="account-page">
      <div className="page__header">
        <h1>{t("account.title")}</h1>
        <span className="muted">{username}</span>
      </div>
      <form className="admin-form" onSubmit={submit} noValidate>
        <input type="text" name="username" autoComplete="username" value={username} readOnly hidden />
        {input("currentPassword", t("account.current"), "current-password")}
        {input("newPassword", t("account.new"), "new-password")}
        {input("confirm", t("account.confirm"), "new-password")}
        <FieldError id="account-form-error" message={errors.form ?? null} />
        {done && (
          <p className="notice" role="status">
            {t("account.done")}
          </p>
        )}
        <button type="submit" className="button button--primary" disabled={busy}>
          {busy ? t("admin.saving") : t("account.submit")}
        </button>
      </form>
    </section>
  );
}
