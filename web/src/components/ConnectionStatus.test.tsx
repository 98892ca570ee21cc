import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { makeTranslate } from "../i18n/i18n";
import type { ConnectionStatus as Status } from "../store/serverListStore";
import { ConnectionStatus } from "./ConnectionStatus";

const t = makeTranslate("en");
const NOW = Date.parse("2025-01-31T12:00:00Z");

function renderStatus(status: Status, nextRetryAt: number | null = null, onRetry = vi.fn()) {
  render(<ConnectionStatus status={status} nextRetryAt={nextRetryAt} nowMs={NOW} locale="en" t={t} onRetry={onRetry} />);
  return screen.getByTestId("connection-status");
}

describe("ConnectionStatus", () => {
  it.each([
    ["connected", "Live"],
    ["connecting", "Connecting…"],
    ["error", "Connection error."],
    ["disconnected", "Disconnected"],
    ["permanently_failed", "Connection failed."],
  ] as const)("%s is shown in words and in data-status", (status, text) => {
    const element = renderStatus(status);
    expect(element.getAttribute("data-status")).toBe(status);
    expect(element.textContent).toContain(text);
  });

  it("reconnecting shows the seconds left and the clock time of the next attempt", () => {
    const retryAt = NOW + 4000;
    const element = renderStatus("reconnecting", retryAt);
    expect(element.getAttribute("data-status")).toBe("reconnecting");
    expect(element.textContent).toContain("Reconnecting in 4 s");
    expect(element.textContent).toContain(new Date(retryAt).toLocaleTimeString("en"));
  });

  it("reconnecting with the retry under way says so", () => {
    expect(renderStatus("reconnecting", NOW - 10).textContent).toBe("Connection lost. Reconnecting…");
  });

  it("offers Retry only after a permanent failure, and Retry calls back", () => {
    const onRetry = vi.fn();
    renderStatus("permanently_failed", null, onRetry);
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(onRetry).toHaveBeenCalledTimes(1);
  });

  it.each(["connected", "connecting", "reconnecting", "error", "disconnected"] as const)(
    "%s has no Retry button",
    (status) => {
      renderStatus(status, NOW + 1000);
      expect(screen.queryByRole("button")).toBeNull();
    },
  );
});
