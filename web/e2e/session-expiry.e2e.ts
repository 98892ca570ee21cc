/**
 * A session whose token expires ends at the login page. Its own daemon issues 5-second tokens
 * (`[auth] token_ttl_seconds = 5`).
 */
import { expect, test } from "vitest";
import { logIn } from "./support/browser";
import { useE2ESuite } from "./support/suite";

const TOKEN_TTL_SECONDS = 5;

const suite = useE2ESuite({ daemon: { tokenTtlSeconds: TOKEN_TTL_SECONDS, pushIntervalSeconds: 1 } });

test("a session whose token expires ends at the login page", async () => {
  const { page } = await suite.newPage();
  let loginAnsweredAt = 0;
  page.on("response", (response) => {
    if (response.url().endsWith("/api/auth/login")) loginAnsweredAt = Date.now();
  });
  await logIn(page, suite.daemon.baseUrl, "admin", suite.daemon.adminPassword());
  const session = await page.evaluate(() => sessionStorage.getItem("monitord.session"));
  const { expiresAt } = JSON.parse(session ?? "null") as { expiresAt: number };
  // The token really is a short one. Its `exp` has whole-second resolution, so it lives
  // between TTL - 1 and TTL seconds after it was issued, shortly before the answer arrived.
  expect(expiresAt - loginAnsweredAt).toBeGreaterThan((TOKEN_TTL_SECONDS - 2) * 1000);
  expect(expiresAt - loginAnsweredAt).toBeLessThanOrEqual(TOKEN_TTL_SECONDS * 1000);

  await page.waitForURL(/\/login(\?|$)/, { timeout: TOKEN_TTL_SECONDS * 1000 + 10_000 });
  const endedAt = Date.now();
  // Ended by the expiry (browser and daemon share this clock), not by anything earlier.
  expect(endedAt).toBeGreaterThanOrEqual(expiresAt - 250);
  await page.locator('input[name="password"]').waitFor();
  expect(await page.getByTestId("login-notice").innerText()).toBe("Your session has ended. Please sign in again.");
  expect(await page.evaluate(() => sessionStorage.getItem("monitord.session"))).toBeNull();

  // It stays ended: a fresh load of the list goes to the login page again.
  await page.goto(`${suite.daemon.baseUrl}/`);
  await page.waitForURL(/\/login(\?|$)/);
  await page.locator('input[name="password"]').waitFor();
});
