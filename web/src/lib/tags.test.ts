import { describe, expect, test } from "vitest";
import type { VpsListItemResponse } from "../types";
import { allTags, filterByTag, groupByTag, readTagView, tagViewSearch } from "./tags";

function server(id: number, tags: string[] | undefined, status: VpsListItemResponse["status"] = "online") {
  return { id, name: `s${id}`, status, tags } as VpsListItemResponse;
}

describe("tags on the list page", () => {
  test("the view round-trips through the URL and keeps other parameters", () => {
    expect(readTagView("?tag=eu&group=tag")).toEqual({ tag: "eu", grouped: true });
    expect(readTagView("")).toEqual({ tag: null, grouped: false });
    expect(tagViewSearch("?x=1", { tag: "db", grouped: true })).toBe("?x=1&tag=db&group=tag");
    expect(tagViewSearch("?tag=eu&group=tag", { tag: null, grouped: false })).toBe("");
  });

  test("filter and groups, with untagged servers last and per-group counts", () => {
    const firing = { ...server(1, ["eu", "db"]), activeAlerts: [{ ruleId: 1, ruleName: "cpu", level: "critical" as const, since: "2026-01-01T00:00:00Z" }] };
    const servers = [firing, server(2, ["eu"], "offline"), server(3, []), server(4, undefined)];
    expect(allTags(servers)).toEqual(["db", "eu"]);
    expect(filterByTag(servers, "eu").map((s) => s.id)).toEqual([1, 2]);
    const groups = groupByTag(servers);
    expect(groups.map((g) => [g.tag, g.servers.map((s) => s.id)])).toEqual([
      ["db", [1]],
      ["eu", [1, 2]],
      [null, [3, 4]],
    ]);
    expect(groups[1]!.counts).toEqual({ online: 1, offline: 1, pending: 0 });
    expect(groups.map((g) => g.alerting)).toEqual([1, 1, 0]);
  });
});
