/**
 * A three-route router on the History API; react-router would be the only reason to pull in
 * a routing library. The daemon answers every non-API path with index.html, so deep links
 * and reloads work.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

export type Route =
  | { name: "login" }
  | { name: "home" }
  | { name: "detail"; id: number }
  | { name: "status"; slug: string }
  | { name: "statusPages" }
  | { name: "notFound" }
  | { name: "adminServers" }
  | { name: "users" }
  | { name: "account" }
  | { name: "alerts"; section: "overview" | "rules" | "channels" | "silences" };

/** The administration pages (issue 14). */
const ADMIN_ROUTES: Record<string, Route> = {
  "/admin/servers": { name: "adminServers" },
  "/admin/users": { name: "users" },
  "/account": { name: "account" },
};

const DETAIL_PATH = /^\/servers\/(\d{1,15})\/?$/;
/** A public status page (issue 16): no login needed. */
const STATUS_PATH = /^\/status\/([a-z0-9-]{1,64})\/?$/;
const ALERTS_PATH = /^\/alerts(?:\/(rules|channels|silences))?\/?$/;

export function matchRoute(pathname: string): Route {
  if (pathname === "/" || pathname === "") return { name: "home" };
  if (pathname === "/login" || pathname === "/login/") return { name: "login" };
  const admin = ADMIN_ROUTES[pathname.replace(/\/$/, "")];
  if (admin !== undefined) return admin;
  const detail = DETAIL_PATH.exec(pathname);
  if (detail !== null) return { name: "detail", id: Number(detail[1]) };
  const status = STATUS_PATH.exec(pathname);
  if (status !== null) return { name: "status", slug: status[1]! };
  if (pathname === "/status-pages" || pathname === "/status-pages/") return { name: "statusPages" };
  const alerts = ALERTS_PATH.exec(pathname);
  if (alerts !== null) return { name: "alerts", section: (alerts[1] ?? "overview") as "overview" };
  return { name: "notFound" };
}

export function serverPath(id: number): string {
  return `/servers/${id}`;
}

/** Fired on our own navigations; the browser fires popstate only for back/forward. */
const NAVIGATE_EVENT = "monitord:navigate";

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace === true) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

/** The current path plus query string, e.g. "/login?next=%2Fservers%2F3". */
export function useLocationPath(): string {
  return useSyncExternalStore(
    subscribe,
    () => window.location.pathname + window.location.search,
  );
}

/** A path we may send the user to after login: same-origin and absolute, nothing else. */
export function safeNextPath(next: string | null): string {
  if (next === null || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) {
    return "/";
  }
  return next;
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href"> & { to: string };

/** An anchor that navigates in-app on a plain left click and behaves natively otherwise. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const handleClick = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    ) {
      return;
    }
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handleClick} {...rest} />;
}
