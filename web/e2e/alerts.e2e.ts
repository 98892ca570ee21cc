/**
 * Alerting in real headless Chromium (issue 15), against a real daemon, the real agent and a
 * real webhook receiver: a channel and a rule are created in the UI, the agent's figures cross
 * the rule's threshold, the badge appears on the server's row, the receiver gets the
 * Alertmanager message, and the alerts page shows it in the history.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { logIn, serverRow } from "./support/browser";
import { ApiClient } from "./support/daemon";
import { useE2ESuite } from "./support/suite";

const suite = useE2ESuite({ daemon: { pushIntervalSeconds: 1 }, agentServer: "e2e-alerts" });

interface Received {
  headers: IncomingMessage["headers"];
  body: { status: string; alerts: { labels: Record<string, string> }[] };
}

const received: Received[] = [];
let receiver: Server;
let receiverUrl = "";

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe("alerts", () => {
  test("a channel and a rule made in the UI fire: badge on the row, webhook received, history shown", async () => {
    const { page } = await suite.newPage();
    await logIn(page, suite.daemon.baseUrl, "admin", suite.daemon.adminPassword());
    await page.getByTestId("nav-alerts").click();
    await page.getByTestId("alerts-page").waitFor();

    await page.getByRole("link", { name: "Channels" }).click();
    const channelForm = page.getByTestId("channel-form");
    await channelForm.locator('input[name="name"]').fill("receiver");
    await channelForm.locator('input[name="url"]').fill(receiverUrl);
    await channelForm.locator('input[name="secret"]').fill("e2e-hmac-secret");
    await channelForm.getByRole("button", { name: "Create" }).click();
    const channelRow = page.getByTestId("channel-row");
    await expect.poll(() => channelRow.count()).toBe(1);
    expect(await channelRow.innerText()).not.toContain("e2e-hmac-secret");
    expect(await channelRow.innerText()).not.toContain("/hook");

    await page.getByRole("link", { name: "Rules" }).click();
    const ruleForm = page.getByTestId("rule-form");
    await ruleForm.locator('input[name="name"]').fill("many processes");
    // The agent reports this host: it always runs more than one process, so the real figure
    // is over this threshold as soon as a sample arrives.
    await ruleForm.locator('select[name="metric"]').selectOption("processCount");
    await ruleForm.locator('input[name="critical"]').fill("1");
    await ruleForm.locator('input[name="forSeconds"]').fill("2");
    await ruleForm.locator('input[name="clearForSeconds"]').fill("0");
    await ruleForm.getByLabel("receiver").check();
    await expect.poll(() => page.getByTestId("rule-preview").innerText()).toMatch(/^1 servers in scope; now \d/);
    await ruleForm.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => page.getByTestId("rule-row").count()).toBe(1);

    await page.getByRole("link", { name: "monitord" }).click();
    const badge = serverRow(page, suite.local.id).getByTestId("alert-badge");
    await expect.poll(() => badge.count(), { timeout: 20_000 }).toBe(1);
    expect(await badge.getAttribute("data-level")).toBe("critical");
    expect(await badge.innerText()).toBe("many processes");

    await expect.poll(() => received.length, { timeout: 20_000 }).toBe(1);
    const message = received[0]!;
    expect(message.body.status).toBe("firing");
    expect(message.body.alerts[0]!.labels).toMatchObject({ alertname: "many processes", server: "e2e-alerts" });
    expect(message.headers["x-monitord-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);

    await page.getByTestId("nav-alerts").click();
    const firing = page.locator('[data-testid="alert-event"][data-kind="transition"][data-to="firing"]');
    await expect.poll(() => firing.count(), { timeout: 15_000 }).toBe(1);
    // The history names the rule and the server, not only their ids.
    expect(await firing.innerText()).toContain("many processes");
    expect(await firing.innerText()).toContain("e2e-alerts");
    expect(await page.getByTestId("active-alerts").innerText()).toContain("many processes");
    const delivered = page.locator('[data-testid="alert-event"][data-kind="delivery"][data-to="sent"]');
    await expect.poll(() => delivered.count(), { timeout: 15_000 }).toBe(1);

    // Phone width: the history still fits without a horizontal scroll.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);

    // Edit the channel in place (at phone width): only the name changes; the secret stays set.
    await page.getByRole("link", { name: "Channels" }).click();
    await page.getByTestId("channel-row").getByRole("button", { name: "Edit" }).click();
    await channelForm.locator('input[name="name"]').fill("receiver two");
    await channelForm.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.getByTestId("channel-row").innerText()).toContain("receiver two");
    const admin = await ApiClient.login(suite.daemon.baseUrl, "admin", suite.daemon.adminPassword());
    const channels = await admin.request<{ channels: { name: string; secret: string | null }[] }>(
      "GET",
      "/api/alerts/channels",
    );
    expect(channels.channels.map((c) => [c.name, c.secret])).toEqual([["receiver two", "***"]]);
  });
});
