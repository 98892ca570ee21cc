"""The monitored servers as the daemon and the CLI change them: register, rename, rotate, delete."""

from monitord.servers.registry import AgentRevoker, Registration, ServerRegistry, ServerRegistryBusy

__all__ = ["AgentRevoker", "Registration", "ServerRegistry", "ServerRegistryBusy"]
