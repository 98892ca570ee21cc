/**
 * Admins create and delete public status pages (`/status-pages`, issue 16). A page has one
 * section here, chosen by tags and/or ticked servers; the API takes more (see the README).
 */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useI18n } from "../i18n/i18n";
import { Link } from "../lib/router";
import { api } from "../services/api";
import { ApiError } from "../services/apiClient";
import { useServerListStore } from "../store/serverListStore";
import type { StatusPageAccess, StatusPageAdmin, StatusPageField } from "../types";

const FIELDS: StatusPageField[] = ["status", "uptime", "cpu", "memory", "disk", "network"];

function pageLink(page: StatusPageAdmin): string {
  return page.access === "link" ? `/status/${page.slug}#key=${page.shareToken}` : `/status/${page.slug}`;
}

export function StatusPagesAdmin() {
  const { t } = useI18n();
  const servers = useServerListStore((state) => state.servers);
  const [pages, setPages] = useState<StatusPageAdmin[]>([]);
  const [slug, setSlug] = useState("");
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [tags, setTags] = useState("");
  const [serverIds, setServerIds] = useState<ReadonlySet<number>>(new Set());
  const [fields, setFields] = useState<ReadonlySet<StatusPageField>>(new Set(["status", "uptime"]));
  const [access, setAccess] = useState<StatusPageAccess>("public");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    setPages((await api.request<{ pages: StatusPageAdmin[] }>("GET", "/api/status-pages")).pages);
  }, []);
  useEffect(() => {
    void reload();
  }, [reload]);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const body = {
      slug,
      title,
      description,
      sections: [
        {
          title: "",
          serverIds: [...serverIds],
          tags: tags
            .split(",")
            .map((tag) => tag.trim())
            .filter((tag) => tag !== ""),
        },
      ],
      fields: FIELDS.filter((field) => fields.has(field)),
      access,
      ...(access === "password" ? { password } : {}),
    };
    try {
      await api.request("POST", "/api/status-pages", { body });
      setSlug("");
      setTitle("");
      setDescription("");
      setPassword("");
      await reload();
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    }
  }

  async function remove(id: number) {
    await api.request("DELETE", `/api/status-pages/${id}`).catch(() => undefined);
    await reload();
  }

  const toggle = <T,>(set: ReadonlySet<T>, value: T): Set<T> => {
    const next = new Set(set);
    if (next.has(value)) next.delete(value);
    else next.add(value);
    return next;
  };

  return (
    <section className="page page--status-admin" aria-labelledby="status-admin-title">
      <div className="page__header">
        <h1 id="status-admin-title">{t("statusAdmin.title")}</h1>
        <Link to="/">{t("nav.servers")}</Link>
      </div>
      <ul className="status-admin__pages" data-testid="status-pages">
        {pages.map((page) => (
          <li key={page.id} data-slug={page.slug}>
            <a href={pageLink(page)} target="_blank" rel="noreferrer">
              {page.title} (/status/{page.slug})
            </a>{" "}
            <span className="muted">{t(`statusAdmin.access.${page.access}`)}</span>{" "}
            <button type="button" className="button button--ghost" onClick={() => void remove(page.id)}>
              {t("statusAdmin.delete")}
            </button>
          </li>
        ))}
      </ul>
      <form className="status-admin__form" onSubmit={(event) => void create(event)} data-testid="status-page-form">
        <h2>{t("statusAdmin.create")}</h2>
        <label className="field">
          <span className="field__label">{t("statusAdmin.slug")}</span>
          <input name="slug" value={slug} onChange={(e) => setSlug(e.target.value)} pattern="[a-z0-9\-]+" required />
        </label>
        <label className="field">
          <span className="field__label">{t("statusAdmin.pageTitle")}</span>
          <input name="title" value={title} onChange={(e) => setTitle(e.target.value)} required />
        </label>
        <label className="field">
          <span className="field__label">{t("statusAdmin.description")}</span>
          <textarea name="description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <label className="field">
          <span className="field__label">{t("statusAdmin.tags")}</span>
          <input name="tags" value={tags} onChange={(e) => setTags(e.target.value)} placeholder="eu, db" />
        </label>
        <fieldset>
          <legend>{t("tags.servers")}</legend>
          {servers.map((server) => (
            <label key={server.id} className="field--inline">
              <input
                type="checkbox"
                name="server"
                value={server.id}
                checked={serverIds.has(server.id)}
                onChange={() => setServerIds(toggle(serverIds, server.id))}
              />
              {server.name}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>{t("statusAdmin.fields")}</legend>
          {FIELDS.map((field) => (
            <label key={field} className="field--inline">
              <input
                type="checkbox"
                name="field"
                value={field}
                checked={fields.has(field)}
                onChange={() => setFields(toggle(fields, field))}
              />
              {t(`statusAdmin.field.${field}`)}
            </label>
          ))}
        </fieldset>
        <label className="field">
          <span className="field__label">{t("statusAdmin.accessLabel")}</span>
          <select name="access" value={access} onChange={(e) => setAccess(e.target.value as StatusPageAccess)}>
            {(["public", "password", "link"] as const).map((option) => (
              <option key={option} value={option}>
                {t(`statusAdmin.access.${option}`)}
              </option>
            ))}
          </select>
        </label>
        {access === "password" && (
          <label className="field">
            <span className="field__label">{t("statusPage.password")}</span>
            <input type="password" name="password" value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
        )}
        <button type="submit" className="button">
          {t("statusAdmin.create")}
        </button>
        {error !== null && <p role="alert">{error}</p>}
      </form>
    </section>
  );
}
