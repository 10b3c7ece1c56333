"""Production settings pass Django's deployment checks; the UI defaults to Chinese."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x7#kq2@pL9!vR4$wZ8^mN3&bT6*yH1(cJ5)gF0-dS2+aE7=uQ4",
        DJANGO_ALLOWED_HOSTS="registry.example.gov.cn",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret():
    result = run_manage("check", DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="registry.example.gov.cn")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_language_defaults_to_simplified_chinese_with_english():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert dict(settings.LANGUAGES).keys() == {"zh-hans", "en"}


def test_production_cookies_are_secure_and_host_only():
    result = run_manage(
        "shell",
        "--verbosity=0",
        "-c",
        "from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.LANGUAGE_COOKIE_SECURE, s.SESSION_EXPIRE_AT_BROWSER_CLOSE)",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x7#kq2@pL9!vR4$wZ8^mN3&bT6*yH1(cJ5)gF0-dS2+aE7=uQ4",
        DJANGO_ALLOWED_HOSTS="registry.example.gov.cn",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["__Host-sessionid", "__Host-csrftoken", "True", "True", "True", "True"]
