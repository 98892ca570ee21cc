"""monitord: self-hosted, real-time server monitoring on Trio."""

__version__ = "0.1.0"
