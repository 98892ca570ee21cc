/** Users (admins): list, add, change role, reset password, delete; the API guards the last admin. */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useI18n, type Translate } from "../i18n/i18n";
import { useAuthStore } from "../store/authStore";
import type { User, UserRole } from "../types";
import { adminApi, generatePassword, validate } from "./adminApi";
import { apiErrorText, ConfirmDialog, CopyField, Dialog, errorField, FieldError } from "./AdminUi";

const ROLES: readonly UserRole[] = ["viewer", "admin"];

function AddUserDialog({ t, onAdded, onClose }: { t: Translate; onAdded(user: User, password: string | null): void; onClose(): void }) {
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<UserRole>("viewer");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const found = {
      username: validate.username(username) ? null : t("users.error.username"),
      password: password === "" || validate.password(password) ? null : t("users.error.password"),
    };
    setErrors(found);
    if (found.username !== null || found.password !== null) return;
    setBusy(true);
    const chosen = password === "" ? generatePassword() : password;
    try {
      const user = await adminApi.createUser(username, chosen, role);
      onAdded(user, password === "" ? chosen : null);
    } catch (caught) {
      const field = errorField(caught, ["username", "password", "role"]) ?? "form";
      setErrors({ [field]: apiErrorText(caught, t) });
      setBusy(false);
    }
  }

  return (
    <Dialog title={t("users.add")} onClose={onClose} testId="add-user-dialog">
      <form onSubmit={submit} noValidate>
        <label className="field">
          <span className="field__label">{t("users.username")}</span>
          <input
            name="username"
            autoComplete="off"
            value={username}
            maxLength={64}
            aria-invalid={Boolean(errors.username)}
            aria-describedby="new-user-username-error"
            onChange={(event) => setUsername(event.target.value)}
          />
          <FieldError id="new-user-username-error" message={errors.username ?? null} />
        </label>
        <label className="field">
          <span className="field__label">{t("users.role")}</span>
          <select name="role" value={role} onChange={(event) => setRole(event.target.value as UserRole)}>
            {ROLES.map((option) => (
              <option key={option} value={option}>
                {t(`users.role.${option}`)}
              </option>
            ))}
          </select>
          <FieldError id="new-user-role-error" message={errors.role ?? null} />
        </label>
        <label className="field">
          <span className="field__label">{t("users.password")}</span>
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            value={password}
            aria-invalid={Boolean(errors.password)}
            aria-describedby="new-user-password-hint new-user-password-error"
            onChange={(event) => setPassword(event.target.value)}
          />
          <span id="new-user-password-hint" className="muted">
            {t("users.passwordHint")}
          </span>
          <FieldError id="new-user-password-error" message={errors.password ?? null} />
        </label>
        <FieldError id="new-user-form-error" message={errors.form ?? null} />
        <div className="dialog__actions">
          <button type="button" className="button" onClick={onClose}>
            {t("admin.cancel")}
          </button>
          <button type="submit" className="button button--primary" disabled={busy}>
            {busy ? t("admin.saving") : t("users.add")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

type Open =
  | { kind: "add" }
  | { kind: "delete"; user: User }
  | { kind: "reset"; user: User }
  | { kind: "password"; user: User; password: string }
  | null;

export function UsersPage() {
  const { t } = useI18n();
  const me = useAuthStore((state) => state.session?.user.id);
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rowErrors, setRowErrors] = useState<Record<number, string>>({});
  const [open, setOpen] = useState<Open>(null);

  const reload = useCallback(() => {
    adminApi.listUsers().then(
      (list) => setUsers(list.users),
      (caught: unknown) => setError(apiErrorText(caught, t)),
    );
  }, [t]);
  useEffect(reload, [reload]);

  async function changeRole(user: User, role: UserRole) {
    setRowErrors(({ [user.id]: _, ...rest }) => rest);
    try {
      await adminApi.setRole(user.id, role);
      reload();
    } catch (caught) {
      setRowErrors((current) => ({ ...current, [user.id]: apiErrorText(caught, t) }));
    }
  }

  return (
    <section className="page admin-page" data-testid="users-page">
      <div className="page__header">
        <h1>{t("users.title")}</h1>
        <button type="button" className="button button--primary" onClick={() => setOpen({ kind: "add" })}>
          {t("users.add")}
        </button>
      </div>
      {error !== null && (
        <p className="notice notice--error" role="alert">
          {error}
        </p>
      )}
      <ul className="admin-list">
        {(users ?? []).map((user) => (
          <li key={user.id} className="admin-list__item" data-testid={`user-${user.username}`}>
            <span className="admin-list__name">
              {user.username} {user.id === me && <span className="muted">{t("users.you")}</span>}
            </span>
            <label className="admin-list__role">
              <span className="visually-hidden">{t("users.role")}</span>
              <select
                aria-label={`${t("users.role")}: ${user.username}`}
                aria-describedby={`user-${user.id}-error`}
                value={user.role}
                onChange={(event) => void changeRole(user, event.target.value as UserRole)}
              >
                {ROLES.map((option) => (
                  <option key={option} value={option}>
                    {t(`users.role.${option}`)}
                  </option>
                ))}
              </select>
            </label>
            <span className="admin-list__actions">
              <button type="button" className="button button--small" onClick={() => setOpen({ kind: "reset", user })}>
                {t("users.reset")}
              </button>
              {user.id !== me && (
                <button
                  type="button"
                  className="button button--small button--danger"
                  onClick={() => setOpen({ kind: "delete", user })}
                >
                  {t("admin.delete")}
                </button>
              )}
            </span>
            <FieldError id={`user-${user.id}-error`} message={rowErrors[user.id] ?? null} />
          </li>
        ))}
      </ul>
      {open?.kind === "add" && (
        <AddUserDialog
          t={t}
          onClose={() => setOpen(null)}
          onAdded={(user, password) => {
            reload();
            setOpen(password === null ? null : { kind: "password", user, password });
          }}
        />
      )}
      {open?.kind === "delete" && (
        <ConfirmDialog
          title={t("admin.delete")}
          message={t("users.confirmDelete", { name: open.user.username })}
          confirmLabel={t("admin.delete")}
          t={t}
          onClose={() => setOpen(null)}
          onConfirm={async () => {
            await adminApi.deleteUser(open.user.id);
            reload();
          }}
        />
      )}
      {open?.kind === "reset" && (
        <ConfirmDialog
          title={t("users.reset")}
          message={t("users.confirmReset", { name: open.user.username })}
          confirmLabel={t("users.reset")}
          t={t}
          onClose={() => setOpen((current) => (current?.kind === "reset" ? null : current))}
          onConfirm={async () => {
            const reset = await adminApi.resetPassword(open.user.id);
            if (reset.password !== null) setOpen({ kind: "password", user: open.user, password: reset.password });
          }}
        />
      )}
      {open?.kind === "password" && (
        <Dialog title={t("users.reset")} onClose={() => setOpen(null)} testId="password-dialog">
          <CopyField
            label={t("users.passwordShown", { name: open.user.username })}
            value={open.password}
            t={t}
            testId="shown-password"
          />
          <div className="dialog__actions">
            <button type="button" className="button button--primary" onClick={() => setOpen(null)}>
              {t("admin.close")}
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
