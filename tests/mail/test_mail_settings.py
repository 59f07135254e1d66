"""SMTP_URL, MAIL_FROM and APP_BASE_URL; the retry schedule; links in mails."""

from __future__ import annotations

import pytest

from delete_api.mail import retry_policy
from delete_api.settings import Settings, SettingsError
from domain.mail.links import app_link
from domain.mail.retry import RetryPolicy
from infra.smtp_url import SmtpOptions, parse_smtp_url


def test_mail_defaults_are_the_development_folder_and_the_app_under_the_public_url() -> None:
    """Unset: no SMTP (files in DATA_DIR/mail), a localhost sender, links on PUBLIC_BASE_URL + /app."""
    s = Settings.from_env({"DATA_DIR": "/srv/delete", "PUBLIC_BASE_URL": "https://api.example.com/"})
    assert s.smtp_url is None and s.mail_from == "Delete <no-reply@localhost>"
    assert str(s.mail_path) == "/srv/delete/mail" and s.app_url == "https://api.example.com/app"
    assert Settings.from_env({"APP_BASE_URL": "https://example.com/"}).app_url == "https://example.com"


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", SmtpOptions("mail.example.com", 587, False)),
    ("smtp://u:p@mail.example.com:2525", SmtpOptions("mail.example.com", 2525, False, "u", "p")),
    ("smtps://apikey:s%40cret%2Fx@smtp.example.com", SmtpOptions("smtp.example.com", 465, True, "apikey", "s@cret/x")),
    ("SMTPS://u@h:1465", SmtpOptions("h", 1465, True, "u", None)),
])
def test_smtp_urls_are_read_with_their_default_ports_and_decoded_credentials(url: str, expected: SmtpOptions) -> None:
    assert parse_smtp_url(url) == expected


def test_the_smtp_password_never_shows() -> None:
    """Neither the settings nor the parsed options print the password; the description has no credentials."""
    s = Settings.from_env({"SMTP_URL": "smtps://mailer:hunter2pass@smtp.example.com", "MAIL_FROM": "a@example.com"})
    options = parse_smtp_url(s.smtp_url.reveal()) if s.smtp_url else None
    assert options is not None
    text = repr(s) + str(s) + repr(options) + options.describe()
    assert "hunter2pass" not in text and "mailer" not in options.describe()
    assert options.describe() == "smtps://smtp.example.com:465"


@pytest.mark.parametrize(("env", "variable"), [
    ({"SMTP_URL": "http://mail.example.com", "MAIL_FROM": "a@example.com"}, "SMTP_URL"),
    ({"SMTP_URL": "smtp://user:hunter2pass@", "MAIL_FROM": "a@example.com"}, "SMTP_URL"),
    ({"SMTP_URL": "smtp://user:hunter2pass@h:port", "MAIL_FROM": "a@example.com"}, "SMTP_URL"),
    ({"SMTP_URL": "smtp://h"}, "MAIL_FROM"),
    ({"MAIL_FROM": "nobody"}, "MAIL_FROM"),
    ({"MAIL_FROM": "a@example.com\r\nBcc: b@example.com"}, "MAIL_FROM"),
    ({"APP_BASE_URL": "app.example.com"}, "APP_BASE_URL"),
])
def test_bad_mail_settings_fail_with_one_line_naming_the_variable(env: dict[str, str], variable: str) -> None:
    """One line naming the variable, never the SMTP password."""
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert variable in str(info.value) and "\n" not in str(info.value) and "hunter2pass" not in str(info.value)


def test_the_retry_schedule_doubles_from_30_s_to_hourly_within_24_hours() -> None:
    """30 s, 1, 2, 4, 8, 16, 32 min, then every hour: about 30 attempts before the mail is given up at 24 h."""
    policy = RetryPolicy()
    assert [policy.retry_in_s(n) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    total, attempts = 0.0, 0
    while total < policy.give_up_s:
        attempts += 1
        total += policy.retry_in_s(attempts)
    assert 25 <= attempts <= 35 and policy.retry_in_s(10_000) == 3600
    with pytest.raises(ValueError):
        RetryPolicy(lease_s=10, send_timeout_s=30)


def test_tests_can_shorten_the_timing_through_extra() -> None:
    settings = Settings(database_url=None, redis_url=None, jwt_secret=None,
                        extra={"mail_poll_s": "0.05", "mail_batch": "7", "mail_lease_s": "2",
                               "mail_send_timeout_s": "1"})
    policy = retry_policy(settings)
    assert (policy.poll_s, policy.batch, policy.lease_s, policy.first_retry_s) == (0.05, 7, 2.0, 30.0)


def test_links_carry_their_parameters_in_the_fragment() -> None:
    """``#token=…`` never reaches a server's access log or a Referer header."""
    assert app_link("https://example.com/app/", "/reset-password", token="a b+c") == \
        "https://example.com/app/reset-password#token=a+b%2Bc"
    assert app_link("https://example.com/app", "settings") == "https://example.com/app/settings"
