// @vitest-environment node
import { describe, expect, it } from "vitest";
import { detectLocale, makeTranslate } from "./i18n";
import { en, zhCN, type MessageKey } from "./messages";

describe("detectLocale", () => {
  it.each([
    [["zh-CN"], "zh-CN"],
    [["zh-TW", "en"], "zh-CN"],
    [["en-US", "zh-CN"], "en"],
    [["fr-FR", "zh"], "zh-CN"],
    [["fr-FR"], "en"],
    [[], "en"],
  ])("%o → %s", (languages, expected) => {
    expect(detectLocale(languages)).toBe(expected);
  });
});

describe("translations", () => {
  it("Chinese has every English key and no empty text", () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
    for (const value of Object.values(zhCN)) expect(value.trim()).not.toBe("");
  });

  it("Chinese keeps every {placeholder} of the English text", () => {
    const placeholders = (text: string) => (text.match(/\{\w+\}/g) ?? []).sort();
    for (const key of Object.keys(en) as Array<keyof typeof en>) {
      expect(placeholders(zhCN[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it("fills placeholders and leaves unknown ones visible", () => {
    const t = makeTranslate("en");
    expect(t("list.showing", { shown: 3, total: 10 })).toBe("Showing 3 of 10");
    expect(t("list.showing", { shown: 3 })).toBe("Showing 3 of {total}");
    expect(makeTranslate("zh-CN")("conn.retry")).toBe("重试");
    expect(makeTranslate("en")("status.maintenance" as MessageKey)).toBe("status.maintenance");
  });
});
