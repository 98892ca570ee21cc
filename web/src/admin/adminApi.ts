/** The REST calls behind the administration pages (README "Administration"). */
import { api } from "../services/api";
import type { LoginResponse, User, UserRole, VpsListItemResponse } from "../types";

export interface ServerCreated {
  server: VpsListItemResponse;
  agentToken: string;
}

export interface AgentInstallInfo {
  version: string;
  daemonUrl: string;
  grpcAddress: string;
  tls: boolean;
  installCommand: string;
}

export interface PasswordReset {
  user: User;
  /** The generated password, shown once; null when the admin chose it. */
  password: string | null;
}

export const adminApi = {
  installInfo: () => api.request<AgentInstallInfo>("GET", "/api/agent/install"),
  createServer: (name: string) => api.request<ServerCreated>("POST", "/api/servers", { body: { name } }),
  renameServer: (id: number, name: string) =>
    api.request<VpsListItemResponse>("PATCH", `/api/servers/${id}`, { body: { name } }),
  deleteServer: (id: number) => api.request<null>("DELETE", `/api/servers/${id}`),
  rotateToken: (id: number) => api.request<{ agentToken: string }>("POST", `/api/servers/${id}/token`),
  listUsers: () => api.request<{ users: User[] }>("GET", "/api/users"),
  createUser: (username: string, password: string, role: UserRole) =>
    api.request<User>("POST", "/api/users", { body: { username, password, role } }),
  setRole: (id: number, role: UserRole) => api.request<User>("PATCH", `/api/users/${id}`, { body: { role } }),
  resetPassword: (id: number) => api.request<PasswordReset>("POST", `/api/users/${id}/password`, { body: {} }),
  deleteUser: (id: number) => api.request<null>("DELETE", `/api/users/${id}`),
  changeOwnPassword: (currentPassword: string, newPassword: string) =>
    api.request<LoginResponse>("PUT", "/api/auth/password", { body: { currentPassword, newPassword } }),
};

/** The API's limits, checked before sending so the form says what is wrong at once. */
export const validate = {
  serverName: (name: string) =>
    name.length >= 1 && name.length <= 100 && name.trim() !== "" && !/[\u0000-\u001f\u007f]/.test(name),
  username: (name: string) => name.length <= 64 && /^[A-Za-z0-9][A-Za-z0-9_.@-]*$/.test(name),
  password: (password: string) => password.length >= 8 && password.length <= 1024,
};

/** A password for a new user, from the browser's CSPRNG: 16 characters, ~95 bits. */
export function generatePassword(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("");
}
