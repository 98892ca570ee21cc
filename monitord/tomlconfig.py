"""TOML config files for the daemon and the agent alike: decode into a strict struct, and turn
every failure into a `ConfigError` whose message is one line naming the file, the key and what
was expected. Also the `host:port` addresses both configs hold.

Neutral ground: the agent imports this module and nothing of the daemon's (`monitord.config`).
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import TypeVar

import msgspec

T = TypeVar("T")


class ConfigError(Exception):
    """A config file or command line that cannot be used; `str()` is the one-line explanation."""


class ListenAddress(msgspec.Struct, frozen=True):
    """A parsed `host:port` (IPv6 hosts in brackets: `[::1]:8080`)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")


def parse_listen(value: str) -> ListenAddress:
    """Parse `host:port`; raises ValueError with what was expected."""
    expected = 'expected "host:port" such as "127.0.0.1:8080" or "[::1]:8080"'
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not (port_text.isascii() and port_text.isdigit()):
        raise ValueError(f"{expected}, got {value!r}")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port must be 0-65535, got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{expected}, got {value!r}") from None
        return ListenAddress(host, port)
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        if not HOSTNAME.match(host):
            raise ValueError(f"{expected}, got {value!r}") from None
    return ListenAddress(host, port)


def decode_toml_file(path: str | Path, struct_type: type[T]) -> T:
    """Decode a TOML file into `struct_type`, translating every failure into ConfigError."""
    source = str(path)
    try:
        with open(path, "rb") as file:
            raw = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a directory, expected a TOML file") from None
    except PermissionError:
        raise ConfigError(f"{source}: permission denied") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not valid TOML: the file is not UTF-8") from None
    try:
        return msgspec.convert(raw, struct_type)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc)}") from None


_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "array": "an array",
    "object": "a table",
    "null": "nothing",
}


def describe_validation_error(exc: msgspec.ValidationError, *, root: str = "file", object_word: str = "a table") -> str:
    """Turn msgspec's message into `key: what was expected` with dotted key names.

    `root` names the whole document and `object_word` a mapping, so the words fit TOML files
    ("file", "a table") as well as JSON bodies ("body", "an object").
    """
    words = {**_TYPE_WORDS, "object": object_word}
    match = _AT_PATH.match(str(exc).replace("\n", " "))
    assert match is not None  # the pattern matches any string
    message, path = match["message"], (match["path"] or "")
    key = re.sub(r"\[(\d+)\]", r"[\1]", path).lstrip(".")
    unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
    if unknown:
        full = f"{key}.{unknown[1]}" if key else unknown[1]
        hint = " (check the spelling against the config reference)" if root == "file" else ""
        return f"{full}: unknown key{hint}"
    missing = re.match(r"Object missing required field `([^`]+)`", message)
    if missing:
        full = f"{key}.{missing[1]}" if key else missing[1]
        return f"{full}: required key is missing"
    field_message = re.match(r"`([\w.]+)`: (.*)", message)
    if field_message:  # raised by a __post_init__ check, which names its own field
        full = f"{key}.{field_message[1]}" if key else field_message[1]
        return f"{full}: {field_message[2]}"
    wrong_type = re.match(r"Expected `([^`]+)`, got `([^`]+)`", message)
    if wrong_type:
        expected = words.get(wrong_type[1], wrong_type[1].replace(" | ", " or "))
        got = words.get(wrong_type[2], wrong_type[2])
        return f"{key or root}: expected {expected}, got {got}"
    if "matching regex" in message:
        return f"{key or root}: contains characters that are not allowed here"
    bounded = re.match(r"Expected `([^`]+)` (.*)", message)
    if bounded:
        return f"{key or root}: expected {words.get(bounded[1], bounded[1])} {bounded[2]}"
    return f"{key or root}: {message[0].lower() + message[1:] if message else 'invalid value'}"
