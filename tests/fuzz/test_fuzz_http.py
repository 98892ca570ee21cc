"""REST bodies, paths and query parameters from hypothesis: never a 500, always the error format."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import FuzzTarget

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=20,
)
# Bodies shaped like the real ones, with hostile values, and anything at all.
FIELDS = st.sampled_from(["username", "password", "name", "role", "currentPassword", "newPassword", "extra"])
SHAPED = st.dictionaries(FIELDS, JSON_VALUES | st.text(max_size=2000), max_size=4)
BODIES = st.one_of(
    SHAPED.map(lambda body: json.dumps(body).encode()),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=300),
)
WRITE_ROUTES = st.sampled_from(
    [
        ("POST", "/api/auth/login"),
        ("PUT", "/api/auth/password"),
        ("POST", "/api/users"),
        ("POST", "/api/servers"),
        ("PATCH", "/api/servers/{id}"),
        ("POST", "/api/servers/{id}/token"),  # takes no body: whatever is sent must not matter
    ]
)


def _assert_well_formed(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message"}
        assert "Traceback" not in error["message"] and "<" not in error["code"]


@given(route=WRITE_ROUTES, body=BODIES, as_admin=st.booleans())
def test_write_routes_survive_any_body(
    fuzz_target: FuzzTarget, route: tuple[str, str], body: bytes, as_admin: bool
) -> None:
    method, path = route
    client = fuzz_target.admin if as_admin else fuzz_target.viewer
    if route == ("PUT", "/api/auth/password"):
        client = fuzz_target.viewer  # a successful change would revoke the admin's token
    response = client.request(
        method, path.format(id=fuzz_target.server_id), content=body, headers={"Content-Type": "application/json"}
    )
    _assert_well_formed(response)


@given(
    segment=st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and s not in {".", ".."}),
    method=st.sampled_from(["GET", "PATCH", "DELETE", "POST"]),
)
def test_server_paths_survive_any_id(fuzz_target: FuzzTarget, segment: str, method: str) -> None:
    _assert_well_formed(fuzz_target.viewer.request(method, f"/api/servers/{quote(segment, safe='')}"))


@given(
    params=st.dictionaries(
        st.sampled_from(["from", "to", "step", "agg", "x"]), st.text(max_size=30) | st.integers().map(str), max_size=4
    )
)
def test_query_parameters_never_break_a_route(fuzz_target: FuzzTarget, params: dict[str, str]) -> None:
    for path in (
        "/api/servers",
        f"/api/servers/{fuzz_target.server_id}",
        "/api/health",
        f"/api/servers/{fuzz_target.server_id}/metrics",
    ):
        _assert_well_formed(fuzz_target.viewer.get(path, params=params))


# Plausible history requests: times as epoch ms or RFC 3339 (valid or not), steps of any size.
# Numbers as a careless or hostile client writes them: huge, negative, fractional, exponent,
# non-ASCII digits (int() accepts "１２３"), infinities.
ODD_NUMBERS = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats().map(str),
    st.sampled_from(["1e309", "-0", "0x10", "1_000", "١٧٦٩٨٦٠٨٠٠٠٠٠", "１７６９８６０８００", "²", "+5", " 5", "5 "]),
)
MOMENTS = st.one_of(
    st.integers(min_value=-(10**14), max_value=10**17).map(str),
    ODD_NUMBERS,
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
    st.text(alphabet="0123456789-:TZ.+ ", max_size=30),
)
HISTORY_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "from": MOMENTS,
        "to": MOMENTS,
        "step": st.integers(min_value=-10, max_value=10**13).map(str) | st.text(max_size=12) | ODD_NUMBERS,
        "agg": st.sampled_from(["avg", "max", "min", ""]),
    },
)


@given(params=HISTORY_PARAMS)
def test_history_parameters_get_points_or_a_clear_400(fuzz_target: FuzzTarget, params: dict[str, str]) -> None:
    response = fuzz_target.viewer.get(f"/api/servers/{fuzz_target.server_id}/metrics", params=params)
    _assert_well_formed(response)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        body = response.json()
        assert body["points"] == [] and body["tier"] in ("raw", "1m", "1h") and body["step"] >= 1
