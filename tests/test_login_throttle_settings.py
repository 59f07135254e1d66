"""The login throttle's settings: documented defaults, and a bad value stops the start with one line."""

from __future__ import annotations

import pytest

from delete_api.settings import Settings, SettingsError


def test_login_throttle_defaults() -> None:
    """5 per account and address and 50 per address in 15 min, 100 per account in an hour; no proxy header."""
    s = Settings.from_env({})
    assert (s.login_max_failures, s.login_failure_window_s, s.login_max_failures_per_address) == (5, 900, 50)
    assert (s.login_max_failures_per_account, s.login_account_window_s) == (100, 3600)
    assert s.login_known_address_ttl_s == 30 * 86400
    assert s.trusted_proxy_header is None


@pytest.mark.parametrize("name", ["X-Forwarded-For", "x-real-ip", "Fly-Client-IP", "CF-Connecting-IP"])
def test_trusted_proxy_header_is_a_header_name(name: str) -> None:
    assert Settings.from_env({"TRUSTED_PROXY_HEADER": f" {name} "}).trusted_proxy_header == name.lower()


@pytest.mark.parametrize(("env", "variable"), [
    ({"TRUSTED_PROXY_HEADER": "X Forwarded For"}, "TRUSTED_PROXY_HEADER"),
    ({"TRUSTED_PROXY_HEADER": "X-Forwarded-For:"}, "TRUSTED_PROXY_HEADER"),
    ({"TRUSTED_PROXY_HEADER": "Forwarded"}, "TRUSTED_PROXY_HEADER"),
    ({"LOGIN_MAX_FAILURES_PER_ADDRESS": "0"}, "LOGIN_MAX_FAILURES_PER_ADDRESS"),
    ({"LOGIN_MAX_FAILURES_PER_ACCOUNT": "lots"}, "LOGIN_MAX_FAILURES_PER_ACCOUNT"),
    ({"LOGIN_ACCOUNT_WINDOW_S": "0"}, "LOGIN_ACCOUNT_WINDOW_S"),
    ({"LOGIN_KNOWN_ADDRESS_TTL_S": "-1"}, "LOGIN_KNOWN_ADDRESS_TTL_S"),
])
def test_bad_login_throttle_settings_fail_with_one_line(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert variable in str(info.value) and "\n" not in str(info.value)
