import { useState } from "react";
import type { Translate } from "../i18n/i18n";
import { api } from "../services/api";
import type { VpsListItemResponse } from "../types";

interface TagEditorProps {
  servers: readonly VpsListItemResponse[];
  t: Translate;
}

const TAG_PATTERN = /^[\p{L}\p{N}_.:-]{1,32}$/u;

/**
 * Admins tag one server or many at once: tick servers, name a tag, add or remove it. Each
 * server's new tag set goes out as `PATCH /api/servers/{id}`; the list updates from the push.
 */
export function TagEditor({ servers, t }: TagEditorProps) {
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [tag, setTag] = useState("");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const valid = TAG_PATTERN.test(tag);

  const toggle = (id: number) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  async function apply(add: boolean) {
    setBusy(true);
    setMessage(null);
    try {
      for (const server of servers) {
        if (!selected.has(server.id)) continue;
        // Read the server's tags fresh: the pushed list may not show a change made a moment ago.
        const current = await api.getServer(server.id);
        const tags = new Set(current.tags ?? []);
        if (add) tags.add(tag);
        else tags.delete(tag);
        await api.request("PATCH", `/api/servers/${server.id}`, { body: { tags: [...tags].sort() } });
      }
      setMessage(t("tags.saved", { count: selected.size }));
      setSelected(new Set());
    } catch (error) {
      setMessage(t("tags.failed", { message: error instanceof Error ? error.message : String(error) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <details className="tag-editor" data-testid="tag-editor">
      <summary>{t("tags.edit")}</summary>
      <div className="tag-editor__body">
        <fieldset className="tag-editor__servers">
          <legend>{t("tags.servers")}</legend>
          <button
            type="button"
            className="button button--ghost"
            onClick={() => setSelected(new Set(servers.map((server) => server.id)))}
          >
            {t("tags.selectAll")}
          </button>
          {servers.map((server) => (
            <label key={server.id} className="tag-editor__server">
              <input
                type="checkbox"
                checked={selected.has(server.id)}
                data-server-id={server.id}
                onChange={() => toggle(server.id)}
              />
              {server.name}
              {(server.tags ?? []).map((name) => (
                <span key={name} className="tag">
                  {name}
                </span>
              ))}
            </label>
          ))}
        </fieldset>
        <label className="field">
          <span className="field__label">{t("tags.tag")}</span>
          <input
            name="tag"
            value={tag}
            aria-invalid={tag !== "" && !valid}
            onChange={(event) => setTag(event.target.value.trim())}
          />
        </label>
        <div className="tag-editor__actions">
          <button type="button" className="button" disabled={busy || !valid || selected.size === 0} onClick={() => void apply(true)}>
            {t("tags.add")}
          </button>
          <button
            type="button"
            className="button button--ghost"
            disabled={busy || !valid || selected.size === 0}
            onClick={() => void apply(false)}
          >
            {t("tags.remove")}
          </button>
        </div>
        {message !== null && (
          <p className="muted" role="status">
            {message}
          </p>
        )}
      </div>
    </details>
  );
}
