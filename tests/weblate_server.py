"""A real Weblate on 127.0.0.1 for the end-to-end test, with its own PostgreSQL and Redis.

Weblate runs from its own virtualenv (``.weblate-venv``, built by ``make weblate-env`` from
``tools/weblate/requirements.txt``; ``WEBLATE_VENV`` points elsewhere), never from the
project's ``.venv``: its dependency tree (Django, Celery, translate-toolkit) is not ours.
PostgreSQL (the machine's ``initdb``/``postgres``) and ``redis-server`` are started here, in a
fresh temporary folder, on ports the kernel hands out free at start (nothing is fixed, so
parallel runs and other services never collide), listening on 127.0.0.1 only; every process is
stopped by its PID at the end and the folder removed. Celery runs eagerly
(``CELERY_TASK_ALWAYS_EAGER``): a request that parses files or pushes does it before it
answers, so the test needs no worker and no sleeps. Every wait is bounded.

PostgreSQL refuses to run as root; when the harness is root (CI) it runs the database as the
``postgres`` system user, which the Debian server package creates. ``WEBLATE_E2E_KEEP=1``
keeps the folder (settings, the logs of all three) for a look after a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("WEBLATE_VENV", ROOT / ".weblate-venv"))
START_TIMEOUT_S = 60.0
MIGRATE_TIMEOUT_S = 600.0
COMMAND_TIMEOUT_S = 180.0
# Debian and Ubuntu install each PostgreSQL major under /usr/lib/postgresql/<major>/bin: the
# newest there, then /usr/local/bin and PATH.
PG_DIRS = (
    *sorted(
        (str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")),
        key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0,
        reverse=True,
    ),
    "/usr/local/bin",
)
SETTINGS_MODULE = "weblate_e2e_settings"
INSTALL_HINT = "run `make weblate-env` (Weblate's own virtualenv and the Debian packages it needs)"


class HarnessError(RuntimeError):
    """Weblate, PostgreSQL or Redis could not be started: the e2e test fails, never skips."""


@dataclass
class Weblate:
    """A running Weblate: its URL, an admin token and one token per created user."""

    url: str
    admin_token: str
    tokens: dict[str, str]
    data_dir: Path
    log: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    def manage(self, *args: str, timeout: float = COMMAND_TIMEOUT_S) -> str:
        """Run ``weblate <args>`` against this instance; its stdout."""
        return _run([str(VENV / "bin" / "weblate"), *args], self.env, timeout).stdout


def weblate_binary() -> Path | None:
    binary = VENV / "bin" / "weblate"
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


def _pg_bin(name: str) -> Path:
    for directory in PG_DIRS:
        if (path := Path(directory) / name).is_file():
            return path
    if found := shutil.which(name):
        return Path(found)
    raise HarnessError(
        f"PostgreSQL's {name} not found in {', '.join(PG_DIRS)} or on PATH; "
        "apt-get install postgresql"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: list[str], env: dict[str, str], timeout: float, **kw: object):
    try:
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False, **kw
        )
    except subprocess.TimeoutExpired:
        raise HarnessError(
            f"{Path(cmd[0]).name} {cmd[1]} did not finish in {timeout:.0f} s"
        ) from None
    if done.returncode != 0:
        tail = [x for x in (done.stderr + done.stdout).strip().splitlines() if "HINT:" not in x][
            -25:
        ]
        raise HarnessError(
            f"{Path(cmd[0]).name} {' '.join(cmd[1:2])} exited {done.returncode}:\n"
            + "\n".join(tail)
        )
    return done


def _wait_port(proc: subprocess.Popen[bytes], port: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"{what} exited with code {proc.returncode}; see {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise HarnessError(f"{what} did not listen on 127.0.0.1:{port} in {START_TIMEOUT_S:.0f} s")


def _wait_http(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(
                f"weblate runserver exited with code {proc.returncode}: {_tail(log)}"
            )
        try:
            with urllib.request.urlopen(f"{url}/healthz/", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise HarnessError(
        f"Weblate did not answer {url}/healthz/ in {START_TIMEOUT_S:.0f} s: {_tail(log)}"
    )


def _tail(log: Path, lines: int = 12) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return f"(no log at {log})"


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a process we started, by its PID (its own session: its children go too)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _settings(base: Path, pg_socket: Path, pg_port: int, redis_port: int, port: int) -> str:
    data, log = base / "data", base / "weblate.log"
    return f'''"""Weblate settings for one e2e run (generated by tests/weblate_server.py)."""
from weblate.api.spectacular import get_drf_settings
from weblate.settings_example import *  # noqa: F403

DEBUG = False
SECRET_KEY = {secrets.token_urlsafe(48)!r}
DATABASES["default"].update(
    NAME="weblate", USER="weblate", PASSWORD="", HOST={str(pg_socket)!r}, PORT="{pg_port}",
    CONN_MAX_AGE=0,
)
DATA_DIR = {str(data)!r}
CACHE_DIR = {str(data / "cache")!r}
MEDIA_ROOT = {str(data / "media")!r}
STATIC_ROOT = {str(data / "static")!r}
CACHES = {{
    "default": {{
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:{redis_port}/1",
        "OPTIONS": {{"CLIENT_CLASS": "django_redis.client.DefaultClient"}},
        "KEY_PREFIX": "weblate",
    }},
    "avatar": {{"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
ALLOWED_HOSTS = ["127.0.0.1"]
SITE_DOMAIN = "127.0.0.1:{port}"
SITE_URL = "http://127.0.0.1:{port}"
ENABLE_HTTPS = False
OTP_WEBAUTHN_RP_ID = "127.0.0.1"
OTP_WEBAUTHN_ALLOWED_ORIGINS = [SITE_URL]
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "otp_webauthn.E031"]  # plain http, loopback
# Only what the test uses: no machine translation services, Git only.
WEBLATE_MACHINERY = ()
VCS_BACKENDS = (
    "weblate.vcs.git.GitRepository",
    "weblate.vcs.git.GitForcePushRepository",
    "weblate.vcs.git.LocalRepository",  # Weblate resolves it while validating any component
)
# Offline: no avatars, no sharing links, no version checks.
ENABLE_AVATARS = False
ENABLE_SHARING = False
REQUIRE_LOGIN = True
REGISTRATION_OPEN = False
REST_FRAMEWORK = get_drf_settings(
    require_login=True, anon_throttle="1000/hour", user_throttle="100000/hour"
)
# The component clones a bare repository in this folder.
VCS_FILE_PROTOCOL = True
VCS_API_DELAY = 0
LOGGING = {{
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {{"file": {{"class": "logging.FileHandler", "filename": {str(log)!r}}}}},
    "root": {{"handlers": ["file"], "level": "WARNING"}},
}}
'''


_USERS = """
import json
from weblate.auth.models import User
out = {}
for name, admin in json.loads(%r):
    user, _ = User.objects.get_or_create(
        username=name, defaults={"email": f"{name}@example.test", "full_name": name}
    )
    if admin:
        user.is_superuser = True
        user.save()
    out[name] = user.auth_token.key
print("TOKENS " + json.dumps(out))
"""


@contextlib.contextmanager
def running_weblate(users: list[str]) -> Iterator[Weblate]:
    """Start PostgreSQL, Redis and Weblate; create an admin and ``users`` (with API tokens)."""
    binary = weblate_binary()
    if binary is None:
        raise HarnessError(f"no Weblate at {VENV}/bin/weblate; {INSTALL_HINT}")
    if shutil.which("redis-server") is None:
        raise HarnessError(f"redis-server not installed; {INSTALL_HINT}")
    initdb, postgres, createdb = (_pg_bin(n) for n in ("initdb", "postgres", "createdb"))
    pg_user = None
    if os.geteuid() == 0:
        try:
            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            raise HarnessError(
                "running as root, and there is no postgres user to run PostgreSQL as "
                "(it refuses root); apt-get install postgresql creates it"
            ) from None

    base = Path(tempfile.mkdtemp(prefix="weblate-e2e-"))
    base.chmod(0o755)  # the postgres user traverses it to its own folder
    procs: list[tuple[subprocess.Popen[bytes], int]] = []
    try:
        pg_dir, pg_socket = base / "pg", base / "pg" / "run"
        pg_socket.mkdir(parents=True)
        if pg_user is not None:
            for path in (pg_dir, pg_socket):
                os.chown(path, pg_user.pw_uid, pg_user.pw_gid)
        as_pg: dict[str, object] = {"user": pg_user.pw_uid} if pg_user else {}
        clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        _run(
            [str(initdb), "-D", str(pg_dir / "data"), "-U", "weblate", "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            clean_env, START_TIMEOUT_S, **as_pg,
        )  # fmt: skip
        pg_port = _free_port()
        pg_log = base / "postgres.log"
        with pg_log.open("wb") as out:
            if pg_user is not None:
                os.chown(pg_log, pg_user.pw_uid, pg_user.pw_gid)
            pg = subprocess.Popen(
                [str(postgres), "-D", str(pg_dir / "data"), "-p", str(pg_port),
                 "-h", "127.0.0.1", "-k", str(pg_socket), "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                stdout=out, stderr=subprocess.STDOUT, env=clean_env,
                start_new_session=True, **as_pg,  # type: ignore[arg-type]
            )  # fmt: skip
        procs.append((pg, signal.SIGINT))  # SIGINT: PostgreSQL's fast shutdown
        _wait_port(pg, pg_port, "postgres", pg_log)
        _run(
            [str(createdb), "-h", str(pg_socket), "-p", str(pg_port), "-U", "weblate", "weblate"],
            clean_env, START_TIMEOUT_S,
        )  # fmt: skip

        redis_port = _free_port()
        redis_log = base / "redis.log"
        with redis_log.open("wb") as out:
            redis = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port),
                 "--save", "", "--appendonly", "no", "--dir", str(base)],
                stdout=out, stderr=subprocess.STDOUT, env=clean_env, start_new_session=True,
            )  # fmt: skip
        procs.append((redis, signal.SIGTERM))
        _wait_port(redis, redis_port, "redis-server", redis_log)

        port = _free_port()
        (base / f"{SETTINGS_MODULE}.py").write_text(
            _settings(base, pg_socket, pg_port, redis_port, port)
        )
        env = {
            **clean_env,
            "HOME": str(base),
            "PYTHONPATH": str(base),
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        }
        _run(
            [str(binary), "migrate", "--noinput"],
            env,
            MIGRATE_TIMEOUT_S,
        )
        spec = [("admin", True), *((name, False) for name in users)]
        shell = _run(
            [str(binary), "shell", "-c", _USERS % json.dumps(spec)], env, COMMAND_TIMEOUT_S
        )
        line = next(x for x in shell.stdout.splitlines() if x.startswith("TOKENS "))
        tokens: dict[str, str] = json.loads(line.removeprefix("TOKENS "))

        log = base / "runserver.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [str(binary), "runserver", f"127.0.0.1:{port}", "--noreload"],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        procs.append((server, signal.SIGTERM))
        url = f"http://127.0.0.1:{port}"
        _wait_http(server, url, log)
        yield Weblate(
            url=url,
            admin_token=tokens.pop("admin"),
            tokens=tokens,
            data_dir=base / "data",
            log=log,
            env=env,
        )
    finally:
        for proc, sig in reversed(procs):
            _stop(proc, sig)
        if not os.environ.get("WEBLATE_E2E_KEEP"):
            shutil.rmtree(base, ignore_errors=True)
