import { render, screen } from "@testing-library/react";
import { describe, expect, test } from "vitest";
import { AlertBadges } from "./AlertBadges";

describe("AlertBadges", () => {
  test("renders nothing without alerts", () => {
    const { container } = render(<AlertBadges alerts={[]} />);
    expect(container.innerHTML).toBe("");
    const absent = render(<AlertBadges alerts={undefined} />);
    expect(absent.container.innerHTML).toBe("");
  });

  test("one badge per alert, coloured by level", () => {
    render(
      <AlertBadges
        alerts={[
          { ruleId: 1, ruleName: "cpu high", level: "critical", since: "2026-01-01T00:00:00Z" },
          { ruleId: 2, ruleName: "<b>disk</b>", level: "warning", since: "2026-01-01T00:00:00Z" },
        ]}
      />,
    );
    const badges = screen.getAllByTestId("alert-badge");
    expect(badges.map((badge) => badge.getAttribute("data-level"))).toEqual(["critical", "warning"]);
    expect(badges[0]!.className).toContain("alert-badge--critical");
    expect(badges[1]!.textContent).toBe("<b>disk</b>");
  });
});
