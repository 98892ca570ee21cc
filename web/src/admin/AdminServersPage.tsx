/** Manage servers (admins): add with the one-line install command, rename, new token, delete. */
import { useState, type FormEvent } from "react";
import { useShallow } from "zustand/react/shallow";
import { StatusBadge } from "../components/StatusBadge";
import { useI18n, type Translate } from "../i18n/i18n";
import { useServerListStore } from "../store/serverListStore";
import { adminApi, validate, type AgentInstallInfo } from "./adminApi";
import { apiErrorText, ConfirmDialog, CopyField, Dialog, FieldError } from "./AdminUi";

interface NameFormProps {
  title: string;
  initial: string;
  t: Translate;
  onSubmit(name: string): Promise<void>;
  onClose(): void;
}

/** The one field of add and rename: the server's name, checked as the API checks it. */
function NameDialog({ title, initial, t, onSubmit, onClose }: NameFormProps) {
  const [name, setName] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!validate.serverName(name)) {
      setError(t("servers.error.name"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSubmit(name);
    } catch (caught) {
      setError(apiErrorText(caught, t));
      setBusy(false);
    }
  }
  return (
    <Dialog title={title} onClose={onClose} testId="server-name-dialog">
      <form onSubmit={submit} noValidate>
        <label className="field">
          <span className="field__label">{t("servers.name")}</span>
          <input
            name="name"
            value={name}
            maxLength={100}
            aria-invalid={error !== null}
            aria-describedby="server-name-error"
            onChange={(event) => setName(event.target.value)}
          />
          <FieldError id="server-name-error" message={error} />
        </label>
        <div className="dialog__actions">
          <button type="button" className="button" onClick={onClose}>
            {t("admin.cancel")}
          </button>
          <button type="submit" className="button button--primary" disabled={busy}>
            {busy ? t("admin.saving") : t("admin.save")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The command and the raw token, shown once after add or a new token. */
export function InstallDialog({
  name,
  token,
  info,
  t,
  onClose,
}: {
  name: string;
  token: string;
  info: AgentInstallInfo;
  t: Translate;
  onClose(): void;
}) {
  return (
    <Dialog title={t("servers.installTitle", { name })} onClose={onClose} testId="install-dialog">
      <p>{t("servers.installIntro")}</p>
      <CopyField label={t("servers.installCommand")} value={info.installCommand} t={t} testId="install-command" />
      <CopyField label={t("servers.token")} value={token} t={t} testId="agent-token" />
      <p className="notice" role="note">
        {t("servers.tokenOnce")}
      </p>
      <p className="muted">
        {t("servers.addresses", { url: info.daemonUrl, grpc: info.grpcAddress })}
        <br />
        {t("servers.addressesHint")}
      </p>
      <div className="dialog__actions">
        <button type="button" className="button button--primary" onClick={onClose}>
          {t("admin.close")}
        </button>
      </div>
    </Dialog>
  );
}

type Open =
  | { kind: "add" }
  | { kind: "rename"; id: number; name: string }
  | { kind: "delete"; id: number; name: string }
  | { kind: "rotate"; id: number; name: string }
  | { kind: "install"; name: string; token: string; info: AgentInstallInfo }
  | null;

export function AdminServersPage() {
  const { t } = useI18n();
  // The live list: a new host turns online here without a reload.
  const servers = useServerListStore(useShallow((state) => state.servers));
  const [open, setOpen] = useState<Open>(null);
  const close = () => setOpen(null);

  async function showInstall(name: string, token: string) {
    setOpen({ kind: "install", name, token, info: await adminApi.installInfo() });
  }

  return (
    <section className="page admin-page" data-testid="admin-servers-page">
      <div className="page__header">
        <h1>{t("servers.title")}</h1>
        <button type="button" className="button button--primary" onClick={() => setOpen({ kind: "add" })}>
          {t("servers.add")}
        </button>
      </div>
      {servers.length === 0 ? (
        <p className="muted">{t("servers.empty")}</p>
      ) : (
        <ul className="admin-list">
          {servers.map((server) => (
            <li key={server.id} className="admin-list__item" data-testid={`admin-server-${server.id}`}>
              <span className="admin-list__name">{server.name}</span>
              <StatusBadge status={server.status} label={t(`status.${server.status}`)} />
              <span className="admin-list__actions">
                <button
                  type="button"
                  className="button button--small"
                  onClick={() => setOpen({ kind: "rename", id: server.id, name: server.name })}
                >
                  {t("servers.rename")}
                </button>
                <button
                  type="button"
                  className="button button--small"
                  onClick={() => setOpen({ kind: "rotate", id: server.id, name: server.name })}
                >
                  {t("servers.rotate")}
                </button>
                <button
                  type="button"
                  className="button button--small button--danger"
                  onClick={() => setOpen({ kind: "delete", id: server.id, name: server.name })}
                >
                  {t("admin.delete")}
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      {open?.kind === "add" && (
        <NameDialog
          title={t("servers.add")}
          initial=""
          t={t}
          onClose={close}
          onSubmit={async (name) => {
            const created = await adminApi.createServer(name);
            await showInstall(created.server.name, created.agentToken);
          }}
        />
      )}
      {open?.kind === "rename" && (
        <NameDialog
          title={t("servers.rename")}
          initial={open.name}
          t={t}
          onClose={close}
          onSubmit={async (name) => {
            await adminApi.renameServer(open.id, name);
            close();
          }}
        />
      )}
      {open?.kind === "delete" && (
        <ConfirmDialog
          title={t("admin.delete")}
          message={t("servers.confirmDelete", { name: open.name })}
          confirmLabel={t("admin.delete")}
          t={t}
          onClose={close}
          onConfirm={async () => {
            await adminApi.deleteServer(open.id);
          }}
        />
      )}
      {open?.kind === "rotate" && (
        <ConfirmDialog
          title={t("servers.rotate")}
          message={t("servers.confirmRotate", { name: open.name })}
          confirmLabel={t("servers.rotate")}
          t={t}
          onClose={() => {
            // After a successful rotation the install dialog has replaced this one.
            setOpen((current) => (current?.kind === "rotate" ? null : current));
          }}
          onConfirm={async () => {
            const { agentToken } = await adminApi.rotateToken(open.id);
            await showInstall(open.name, agentToken);
          }}
        />
      )}
      {open?.kind === "install" && (
        <InstallDialog name={open.name} token={open.token} info={open.info} t={t} onClose={close} />
      )}
    </section>
  );
}
