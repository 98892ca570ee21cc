"""Config files from hypothesis: every input is either settings or one ConfigError line."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from monitord.config import ConfigError, Settings, load_settings

SECTIONS = {
    "": ["data_dir"],
    "http": ["listen", "allowed_origins", "allowed_hosts", "tcp_user_timeout_seconds", "graceful_timeout_seconds"],
    "grpc": ["listen", "tls_cert_file", "tls_key_file"],
    "database": ["url"],
    "auth": ["token_ttl_seconds", "jwt_key_file", "login_max_failures", "login_window_seconds"],
    "push": ["interval_seconds"],
    "agents": ["offline_after_seconds"],
    "metrics": ["bearer_token"],
    "retention": ["raw_hours", "minute_days", "hour_days"],
    "bogus": ["key"],
}
TOML_VALUES = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).replace("inf", "inf").replace("nan", "nan")),
    st.booleans().map(lambda b: str(b).lower()),
    st.text(max_size=40).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.sampled_from(
        ['"127.0.0.1:0"', '"[::1]:80"', '"host:99999"', '"a:b:c"', '["https://x.example"]', "[1, 2]", "[]"]
    ),
)


@st.composite
def toml_documents(draw: st.DrawFn) -> str:
    lines = []
    for section, keys in SECTIONS.items():
        chosen = draw(st.lists(st.sampled_from([*keys, "typo_key"]), max_size=3, unique=True))
        if not chosen:
            continue
        if section:
            lines.append(f"[{section}]")
        lines.extend(f"{key} = {draw(TOML_VALUES)}" for key in chosen)
    return "\n".join(lines) + "\n"


def _load(data: bytes) -> Settings | str:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "monitord.toml"
        path.write_bytes(data)
        try:
            return load_settings(path)
        except ConfigError as exc:
            return str(exc)


@given(toml_documents())
def test_structured_configs_load_or_explain(document: str) -> None:
    result = _load(document.encode())
    if isinstance(result, str):
        assert "\n" not in result and "monitord.toml: " in result


@given(st.binary(max_size=500))
def test_arbitrary_bytes_load_or_explain(data: bytes) -> None:
    result = _load(data)
    if isinstance(result, str):
        assert "\n" not in result
