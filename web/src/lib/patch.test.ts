import { describe, expect, test } from "vitest";
import { changedFields } from "./patch";

describe("changedFields", () => {
  test("keeps only what changed, comparing lists and nulls by value", () => {
    const original = { name: "a", url: "https://***@x", secret: "***", ids: [1, 2], warning: null as number | null };
    expect(changedFields(original, { ...original })).toEqual({});
    expect(changedFields(original, { ...original, ids: [1, 2], warning: undefined as unknown as null })).toEqual({});
    expect(changedFields(original, { ...original, name: "b", ids: [2], secret: "" })).toEqual({
      name: "b",
      ids: [2],
      secret: "",
    });
  });
});
