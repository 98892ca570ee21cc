// @vitest-environment node
import { describe, expect, it } from "vitest";
import { DURATION_UNITS } from "../i18n/messages";
import {
  formatBytes,
  formatCount,
  formatLoad,
  formatPercent,
  formatRate,
  formatRelativeTime,
  formatUptime,
  textOrDash,
  usagePercent,
} from "./format";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1, "1 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [10 * 1024 ** 2, "10.0 MiB"],
    [1.5 * 1024 ** 3, "1.5 GiB"],
    [150 * 1024 ** 3, "150 GiB"],
    [2 * 1024 ** 4, "2.0 TiB"],
  ])("%d bytes → %s", (bytes, expected) => {
    expect(formatBytes(bytes)).toBe(expected);
  });

  it.each([null, undefined, Number.NaN, -1, Number.POSITIVE_INFINITY])("%s → a dash", (value) => {
    expect(formatBytes(value)).toBe("—");
  });
});

describe("formatRate", () => {
  it("appends /s to a byte amount", () => {
    expect(formatRate(0)).toBe("0 B/s");
    expect(formatRate(2048)).toBe("2.0 KiB/s");
    expect(formatRate(125 * 1024 ** 2)).toBe("125 MiB/s");
  });
  it("shows a dash for missing values", () => {
    expect(formatRate(null)).toBe("—");
  });
});

describe("formatPercent and usagePercent", () => {
  it("rounds to one decimal", () => {
    expect(formatPercent(12.345)).toBe("12.3%");
    expect(formatPercent(100)).toBe("100.0%");
    expect(formatPercent(undefined)).toBe("—");
  });
  it("divides used by total, refusing a zero or missing total", () => {
    expect(usagePercent(2, 8)).toBe(25);
    expect(usagePercent(1, 0)).toBeNull();
    expect(usagePercent(null, 8)).toBeNull();
  });
});

describe("formatUptime", () => {
  it.each([
    [0, "0s"],
    [42, "42s"],
    [60, "1m"],
    [125, "2m 5s"],
    [3600, "1h"],
    [3725, "1h 2m"],
    [86_400, "1d"],
    [93_784, "1d 2h"],
    [90_061, "1d 1h"],
    [400 * 86_400 + 5, "400d"],
    [59.9, "59s"],
  ])("%d s → %s", (seconds, expected) => {
    expect(formatUptime(seconds)).toBe(expected);
  });

  it("uses the language's units", () => {
    expect(formatUptime(93_784, DURATION_UNITS["zh-CN"])).toBe("1天 2小时");
  });

  it("shows a dash for a missing value", () => {
    expect(formatUptime(null)).toBe("—");
  });
});

describe("formatRelativeTime", () => {
  const now = Date.parse("2025-01-31T12:00:00Z");
  const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();

  it.each([
    [3, "now"],
    [-4, "now"],
    [25, "20 seconds ago"],
    [125, "2 minutes ago"],
    [2 * 3600 + 5, "2 hours ago"],
    [3 * 86_400, "3 days ago"],
  ])("%d s ago → %s", (seconds, expected) => {
    expect(formatRelativeTime(ago(seconds), now, "en")).toBe(expected);
  });

  it("speaks Chinese for zh-CN", () => {
    expect(formatRelativeTime(ago(125), now, "zh-CN")).toBe("2分钟前");
  });

  it("gives the same label within a 10 s bucket, so unchanged rows can skip rendering", () => {
    expect(formatRelativeTime(ago(21), now, "en")).toBe(formatRelativeTime(ago(29), now, "en"));
  });

  it("shows a dash for missing or invalid timestamps", () => {
    expect(formatRelativeTime(null, now, "en")).toBe("—");
    expect(formatRelativeTime("yesterday", now, "en")).toBe("—");
  });
});

describe("small helpers", () => {
  it("textOrDash keeps text and replaces empty values", () => {
    expect(textOrDash("debian")).toBe("debian");
    expect(textOrDash("  ")).toBe("—");
    expect(textOrDash(null)).toBe("—");
  });
  it("formatLoad and formatCount", () => {
    expect(formatLoad(0.4213)).toBe("0.42");
    expect(formatCount(12345, "en")).toBe("12,345");
    expect(formatCount(undefined, "en")).toBe("—");
  });
});
