/** The app's REST client, wired to the auth store. */
import { useAuthStore } from "../store/authStore";
import { createApiClient } from "./apiClient";

export const api = createApiClient({
  getToken: () => useAuthStore.getState().session?.token ?? null,
  onUnauthorized: () => useAuthStore.getState().logout("session_expired"),
});
