/**
 * Tags on the list page (issue 16): the tag filter and the group-by-tag view, kept in the URL
 * (`?tag=eu&group=tag`) so a view can be bookmarked and shared.
 */
import type { ServerStatus, VpsListItemResponse } from "../types";

export interface TagView {
  /** Show only servers carrying this tag; null: every server. */
  tag: string | null;
  /** Group the list into one collapsible section per tag. */
  grouped: boolean;
}

export function readTagView(search: string): TagView {
  const params = new URLSearchParams(search);
  const tag = params.get("tag");
  return { tag: tag === null || tag === "" ? null : tag, grouped: params.get("group") === "tag" };
}

/** `search` with the view's parameters replaced (other parameters kept). */
export function tagViewSearch(search: string, view: TagView): string {
  const params = new URLSearchParams(search);
  if (view.tag === null) params.delete("tag");
  else params.set("tag", view.tag);
  if (view.grouped) params.set("group", "tag");
  else params.delete("group");
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

export function allTags(servers: readonly VpsListItemResponse[]): string[] {
  const names = new Set<string>();
  for (const server of servers) for (const tag of server.tags ?? []) names.add(tag);
  return [...names].sort();
}

export function filterByTag(servers: readonly VpsListItemResponse[], tag: string | null): VpsListItemResponse[] {
  return tag === null ? [...servers] : servers.filter((server) => (server.tags ?? []).includes(tag));
}

export interface TagGroup {
  /** null: the servers with no tag. */
  tag: string | null;
  servers: VpsListItemResponse[];
  counts: Record<ServerStatus, number>;
  /** How many of its servers have at least one active alert. */
  alerting: number;
}

/** One group per tag (a server with two tags is in both), in tag order; untagged servers last. */
export function groupByTag(servers: readonly VpsListItemResponse[]): TagGroup[] {
  const groups = new Map<string | null, VpsListItemResponse[]>();
  for (const tag of allTags(servers)) groups.set(tag, []);
  for (const server of servers) {
    const tags = server.tags ?? [];
    if (tags.length === 0) {
      if (!groups.has(null)) groups.set(null, []);
      groups.get(null)!.push(server);
    }
    for (const tag of tags) groups.get(tag)!.push(server);
  }
  return [...groups.entries()].map(([tag, members]) => ({
    tag,
    servers: members,
    counts: {
      online: members.filter((s) => s.status === "online").length,
      offline: members.filter((s) => s.status === "offline").length,
      pending: members.filter((s) => s.status === "pending").length,
    },
    alerting: members.filter((s) => (s.activeAlerts ?? []).length > 0).length,
  }));
}
