"""Real server processes for tests: Daphne serving the project on the test database.

They caption with the engine of the test's own process (`server_process_env`): the scripted one,
unless the test is about speech and asks for the real model with the `whisper` fixture.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def server_process_env(**env: str) -> dict[str, str]:
    """The environment of a server or worker a test starts: the test settings, the run's database.

    It captions with the live engine of the test's own process, unless ``env`` names another:
    the scripted engine, or the local one (the real model) for a test that asks for `whisper`
    (tests/conftest.py). Rooms, rights and pages need no model; speech keeps the real one.
    """
    return {
        **os.environ,
        "CAPTIONS_TEST_SERVER": "1",
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "TRANSCRIPTION_ENGINE": settings.TRANSCRIPTION_ENGINE,
        **env,
    }


# What decides how config.settings loads; a subprocess given `production_env` sees none of them.
SETTINGS_VARIABLES = {"DEBUG", "HTTPS", "SECRET_KEY", "DOTENV_PATH", "DJANGO_SETTINGS_MODULE"}


def production_env(**env: str) -> dict[str, str]:
    """The environment of a process that loads config.settings from `env` alone (no .env)."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    return {**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "DOTENV_PATH": os.devnull, **env}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def daphne_server(port: int | None = None, **env: str) -> Iterator[str]:
    """Start the site as production does (on a free port unless given); yields its URL.

    The server is `python -m config.server`: Daphne's command line with the project's fixes.

    Call it inside a test that uses `transactional_db` (or `live_cast`), so what the
    test writes is committed and visible to the server.
    """
    with daphne_process(port, **env) as (base, _process):
        yield base


@contextmanager
def daphne_process(port: int | None = None, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`daphne_server`, also yielding the process (to read its memory from /proc/<pid>)."""
    port = port or free_port()
    server_env = server_process_env(**env)
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(server_log(port), "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "config.server",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"daphne exited with {process.returncode}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base, process
    finally:
        stop_process(process)
        log.close()


@contextmanager
def transcription_worker(log_name: str = "worker-test", **env: str) -> Iterator[subprocess.Popen]:
    """`manage.py transcription_worker` on the test database, writing to var/<log_name>.log."""
    (ROOT / "var").mkdir(exist_ok=True)
    with open(ROOT / "var" / f"{log_name}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "transcription_worker", "--interval", "0.2"],
            cwd=ROOT,
            env=server_process_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        stop_process(process)


def server_log(port: int) -> Path:
    """The file a `daphne_server` on this port writes its output and access log to."""
    return ROOT / "var" / f"daphne-{port}.log"


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a server the way a supervisor would: SIGTERM, then SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own, in a temporary directory on a free port (trust auth).

    For tests that stop and start the database server: the machine's PostgreSQL, which other
    runs share, is never touched. PostgreSQL refuses to run as root, so when the tests run as
    root the cluster belongs to the `postgres` user and its commands run as that user.
    """

    def __init__(self) -> None:
        versions = Path("/usr/lib/postgresql").glob("*/bin/initdb")
        newest = max(versions, key=lambda initdb: int(initdb.parts[-3]), default=None)
        if newest is None:
            raise FileNotFoundError("no PostgreSQL server binaries in /usr/lib/postgresql")
        self.bindir = newest.parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="captions-pg-"))
        self.data = self.dir / "data"

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            # no fsync: the data is thrown away, and the restart is what is tested
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
            )
        self.start()

    def createdb(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-D", self.data, "-l", self.dir / "server.log")

    def stop(self, mode: str = "fast") -> None:
        """`fast`, as a restart or a failover does: every open connection is cut."""
        self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", self.data)

    def remove(self) -> None:
        """Stop the server, whatever state it is in, and delete the cluster."""
        pid_file = self.data / "postmaster.pid"
        try:
            if pid_file.exists():
                self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", self.data)
        except RuntimeError:
            # what pg_ctl's immediate stop sends, so no server outlives its directory
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, program: str, *args: str | Path) -> None:
        command = [str(self.bindir / program), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A started `ThrowawayPostgres`, stopped and deleted afterwards whatever happens."""
    cluster = ThrowawayPostgres()
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.remove()


def listening_pid(port: int) -> int:
    """The process listening on a local TCP port (``ss`` names it)."""
    found = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True
    )
    return int(found.stdout.split("pid=")[1].split(",")[0])


class HttpsSite(NamedTuple):
    base: str  # https://localhost:<port>, through Caddy
    context: ssl.SSLContext  # trusts Caddy's internal CA
    process: subprocess.Popen  # serve.py, which runs Caddy and the web processes


@contextmanager
def serve_https(tmp_path: Path, *serve_args: str, **env: str) -> Iterator[HttpsSite]:
    """`scripts/serve.py --https localhost:<port>` on the test settings, as an operator runs it.

    Caddy's state (its internal CA) and the collected static files go under ``tmp_path``.
    """
    https_port = free_port()
    environment = server_process_env(
        DOTENV_PATH=str(tmp_path / ".env"),
        STATIC_ROOT=str(tmp_path / "static"),
        XDG_DATA_HOME=str(tmp_path / "caddy"),
        CADDY_HTTP_PORT=str(free_port()),
        **env,
    )
    command = [sys.executable, "scripts/serve.py", "--https", f"localhost:{https_port}"]
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [*command, *serve_args], cwd=ROOT, env=environment, stdout=log, stderr=log
    )
    root_ca = tmp_path / "caddy" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    base = f"https://localhost:{https_port}"
    try:
        yield HttpsSite(base, wait_for_https(base, root_ca, process), process)
    finally:
        stop_process(process)
        log.close()


def wait_for_https(base: str, root_ca: Path, process: subprocess.Popen) -> ssl.SSLContext:
    """An SSL context trusting Caddy's CA, once ``base`` answers /healthz through it."""
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, "serve.py --https exited"
        try:
            context = ssl.create_default_context(cafile=str(root_ca))
            with urllib.request.urlopen(base + "/healthz", context=context, timeout=2):
                return context
        except (OSError, ssl.SSLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
