"""A real WordPress for the plugin's tests: Debian's /usr/share/wordpress copied into a test
folder with its own wp-config.php, on a throwaway MariaDB (its own data directory and unix
socket, started and stopped by its pid), served by PHP's built-in server on loopback.

Nothing here reaches the network: WordPress is told to block every outside host
(``WP_HTTP_BLOCK_EXTERNAL``), so a request the plugin should not make fails instead of leaving.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

DEBIAN_WORDPRESS = Path("/usr/share/wordpress")
REPO = Path(__file__).resolve().parents[2]
PLUGIN_SOURCE = REPO / "wordpress" / "gmail-oneclick"
BRIDGE_SOURCE = REPO / "wordpress" / "gmail-oneclick-postsmtp-bridge.php"
RUNNER = Path(__file__).resolve().parent / "run.php"
ROUTER = Path(__file__).resolve().parent / "router.php"
PLUGIN_FILE = "gmail-oneclick/gmail-oneclick.php"
ADMIN_USER = "admin"
ADMIN_EMAIL = "admin@blog.example.com"


def missing_parts() -> list[str]:
    """What this machine lacks to run a real WordPress (empty when everything is there)."""
    wanted = {
        "php": shutil.which("php"),
        "mariadbd": shutil.which("mariadbd") or _sbin("mariadbd"),
        "mariadb-install-db": shutil.which("mariadb-install-db"),
        "wordpress": (DEBIAN_WORDPRESS / "wp-settings.php").exists() or None,
    }
    return [name for name, found in wanted.items() if not found]


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


class MariaDB:
    """A MariaDB server of our own: data directory and socket under ``folder``, no TCP port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.datadir = folder / "data"
        self.socket = folder / "mysqld.sock"
        self.pidfile = folder / "mysqld.pid"
        self.log = folder / "mysqld.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _as_root_flag(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def start(self) -> MariaDB:
        self.folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}",
             "--auth-root-authentication-method=normal", "--skip-test-db",
             *self._as_root_flag()],
            check=True, capture_output=True,
        )
        mariadbd = shutil.which("mariadbd") or _sbin("mariadbd") or "mariadbd"
        self._process = subprocess.Popen(  # noqa: S603
            [mariadbd, "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
             f"--pid-file={self.pidfile}", f"--log-error={self.log}", "--skip-networking",
             "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=0",
             *self._as_root_flag()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_for(self._answers, "MariaDB")
        self.sql("CREATE DATABASE wordpress CHARACTER SET utf8mb4")
        return self

    def _answers(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"MariaDB exited: {self.log.read_text(errors='replace')[-2000:]}")
        if not self.socket.exists():
            return False
        return self.sql("SELECT 1", check=False).returncode == 0

    def sql(self, statement: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B",
             "-e", statement],
            check=check, capture_output=True, text=True,
        )

    def stop(self) -> None:
        if self._process is None:
            return
        pid = int(self.pidfile.read_text()) if self.pidfile.exists() else self._process.pid
        os.kill(pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


WP_CONFIG = """<?php
// Written by the test harness: a throwaway WordPress on a throwaway MariaDB.
define('DB_NAME', 'wordpress');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', 'localhost:{socket}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
{salts}
$table_prefix = 'wp_';
define('WP_HOME', '{url}');
define('WP_SITEURL', '{url}');
define('WP_CONTENT_DIR', __DIR__ . '/wp-content');
define('WP_CONTENT_URL', '{url}/wp-content');
define('WP_DEBUG', true);
define('WP_DEBUG_DISPLAY', false);
define('WP_DEBUG_LOG', '{debug_log}');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('FS_METHOD', 'direct');
define('WP_ENVIRONMENT_TYPE', 'local');
if (file_exists(__DIR__ . '/wp-config-extra.php')) {{
    require __DIR__ . '/wp-config-extra.php';
}}
if (!defined('ABSPATH')) {{
    define('ABSPATH', __DIR__ . '/');
}}
require_once ABSPATH . 'wp-settings.php';
"""

# WP_HTTP_BLOCK_EXTERNAL already stops WordPress's update checks from leaving; this answers them
# from memory so they do not fill debug.log with "could not reach WordPress.org" warnings.
OFFLINE_MU_PLUGIN = """<?php
// Test harness: no update checks (the test machine has no network).
$gmail_oneclick_harness_none = static function () {
    return (object) ['last_checked' => time(), 'version_checked' => get_bloginfo('version'),
                     'updates' => [], 'response' => [], 'translations' => []];
};
add_filter('pre_site_transient_update_core', $gmail_oneclick_harness_none);
add_filter('pre_site_transient_update_plugins', $gmail_oneclick_harness_none);
add_filter('pre_site_transient_update_themes', $gmail_oneclick_harness_none);
"""

SALT_NAMES = ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT",
              "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT")


@dataclass
class PhpResult:
    stdout: str
    stderr: str
    returncode: int


@dataclass
class WordPress:
    """A running WordPress: ``url``, ``root``, ``admin_password``; ``php()`` runs code inside it."""

    root: Path
    db: MariaDB
    port: int
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    _server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def debug_log(self) -> Path:
        return self.root / "debug.log"

    @property
    def plugins_dir(self) -> Path:
        return self.root / "wp-content" / "plugins"

    @property
    def mu_plugins_dir(self) -> Path:
        return self.root / "wp-content" / "mu-plugins"

    def admin_url(self, path: str = "") -> str:
        return f"{self.url}/wp-admin/{path}"

    # -- setting up ------------------------------------------------------------------------

    def lay_out(self) -> None:
        """Debian's WordPress copied, our wp-config.php, our own wp-content. Debian links a few
        files to shared packages (underscore.js, getID3, CA certificates) with relative links,
        which would dangle in the copy: the copy holds what they point at."""
        shutil.copytree(DEBIAN_WORDPRESS, self.root, symlinks=False,
                        ignore=shutil.ignore_patterns("wp-config.php", "wp-content", ".htaccess"))
        salts = "\n".join(f"define('{n}', '{secrets.token_hex(32)}');" for n in SALT_NAMES)
        (self.root / "wp-config.php").write_text(WP_CONFIG.format(
            socket=self.db.socket, salts=salts, url=self.url, debug_log=self.debug_log))
        for folder in (self.plugins_dir, self.mu_plugins_dir, self.root / "wp-content" / "uploads",
                       self.root / "wp-content" / "themes"):
            folder.mkdir(parents=True, exist_ok=True)
        (self.mu_plugins_dir / "harness-offline.php").write_text(OFFLINE_MU_PLUGIN)
        self.install_plugin_source()

    def install_plugin_source(self) -> None:
        """The plugin as a copy of the repository's folder (a copy, as an upload would leave)."""
        target = self.plugins_dir / "gmail-oneclick"
        if target.exists():
            shutil.rmtree(target)
        if PLUGIN_SOURCE.exists():
            shutil.copytree(PLUGIN_SOURCE, target)

    def install(self) -> None:
        """wp_install() with an admin user and pretty permalinks (the REST API under /wp-json/)."""
        self.php(f"""
            require_once ABSPATH . 'wp-admin/includes/upgrade.php';
            wp_install('Example Blog', '{ADMIN_USER}', '{ADMIN_EMAIL}', false, '',
                       '{self.admin_password}');
            update_option('permalink_structure', '/%postname%/');
            update_option('timezone_string', 'UTC');
        """, installing=True, user=0)

    def serve(self) -> None:
        env = {**os.environ, "PHP_CLI_SERVER_WORKERS": "4"}
        with open(self.root / "php-server.log", "ab") as log:
            self._server = subprocess.Popen(  # noqa: S603
                ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.root), str(ROUTER)],
                cwd=self.root, env=env, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,  # its workers are stopped with it, as one group
            )
        _wait_for(self._answers, "PHP's built-in server")

    def _answers(self) -> bool:
        if self._server is not None and self._server.poll() is not None:
            raise RuntimeError("php -S exited; see php-server.log")
        try:
            return requests.get(self.url + "/wp-login.php", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self._server is not None:
            # PHP_CLI_SERVER_WORKERS forks workers that outlive a parent stopped alone.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._server.pid, signal.SIGTERM)
            try:
                self._server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._server.pid, signal.SIGKILL)
                self._server.wait()
            self._server = None

    # -- driving it --------------------------------------------------------------------------

    def php(self, code: str, *, user: int = 1, installing: bool = False,
            check: bool = True, stdin_extra: str = "") -> PhpResult:
        """Run PHP ``code`` inside this WordPress (wp-load.php loaded, ``user`` logged in; 0 for
        nobody) and return what it printed. ``check`` raises when PHP exits non-zero."""
        env = {**os.environ, "WP_ROOT": str(self.root), "WP_HOST": f"127.0.0.1:{self.port}",
               "WP_USER": str(user), "WP_INSTALLING_RUN": "1" if installing else ""}
        done = subprocess.run(
            ["php", "-d", "display_errors=stderr", str(RUNNER)], input=code + stdin_extra,
            env=env, capture_output=True, text=True, timeout=120,
        )
        result = PhpResult(done.stdout, done.stderr, done.returncode)
        if check and done.returncode != 0:
            raise AssertionError(
                f"PHP failed ({done.returncode}):\nstdout: {done.stdout[-3000:]}\n"
                f"stderr: {done.stderr[-3000:]}")
        return result

    def login(self, username: str = ADMIN_USER, password: str | None = None) -> requests.Session:
        """A browser-like session logged in through wp-login.php."""
        session = requests.Session()
        session.get(self.url + "/wp-login.php", timeout=10)  # sets the test cookie
        response = session.post(
            self.url + "/wp-login.php",
            data={"log": username, "pwd": password or self.admin_password,
                  "wp-submit": "Log In", "redirect_to": self.admin_url(), "testcookie": "1"},
            allow_redirects=False, timeout=20,
        )
        if response.status_code != 302 or not any(
                c.name.startswith("wordpress_logged_in") for c in session.cookies):
            raise AssertionError(f"login as {username} failed: {response.status_code}")
        return session

    def add_user(self, username: str, role: str) -> str:
        """A new user with ``role``; returns the password."""
        password = secrets.token_urlsafe(12)
        self.php(f"""
            $id = wp_insert_user(['user_login' => '{username}', 'user_pass' => '{password}',
                                  'user_email' => '{username}@blog.example.com',
                                  'role' => '{role}']);
            if (is_wp_error($id)) {{ fwrite(STDERR, $id->get_error_message()); exit(1); }}
        """)
        return password

    def plugin_active(self) -> bool:
        out = self.php(f"echo is_plugin_active('{PLUGIN_FILE}') ? 'yes' : 'no';").stdout
        return out.strip() == "yes"

    def activate_plugin(self) -> None:
        self.php(f"""
            $result = activate_plugin('{PLUGIN_FILE}');
            if (is_wp_error($result)) {{
                fwrite(STDERR, $result->get_error_message()); exit(1);
            }}
        """)

    def reset_plugin_state(self) -> None:
        """Forget everything the plugin stored (options, transients, rows of its tables), so each
        test starts from a freshly activated plugin."""
        self.php("""
            global $wpdb;
            $wpdb->query("DELETE FROM {$wpdb->options} WHERE option_name LIKE 'gmail\\\\_oneclick%'
                          OR option_name LIKE '\\\\_transient\\\\_%gmail\\\\_oneclick%'
                          OR option_name LIKE '\\\\_site\\\\_transient\\\\_%gmail\\\\_oneclick%'");
            $tables = $wpdb->get_col($wpdb->prepare('SHOW TABLES LIKE %s',
                $wpdb->esc_like($wpdb->prefix . 'gmail_oneclick') . '%'));
            foreach ($tables as $table) { $wpdb->query("TRUNCATE TABLE `$table`"); }
            wp_cache_flush();
        """)

    def set_extra_config(self, php: str) -> None:
        """Extra lines for wp-config.php (constants such as GMAIL_ONECLICK_API_KEY); '' clears."""
        path = self.root / "wp-config-extra.php"
        if php:
            path.write_text("<?php\n" + php + "\n")
        elif path.exists():
            path.unlink()

    def debug_log_lines(self) -> list[str]:
        if not self.debug_log.exists():
            return []
        return self.debug_log.read_text(errors="replace").splitlines()


def start_wordpress(folder: Path) -> WordPress:
    """MariaDB, WordPress laid out and installed, PHP serving it. Stop with ``stop_wordpress``."""
    db = MariaDB(folder / "mariadb").start()
    wordpress = WordPress(root=folder / "wordpress", db=db, port=free_port())
    try:
        wordpress.lay_out()
        wordpress.install()
        wordpress.serve()
    except BaseException:
        wordpress.stop()
        db.stop()
        raise
    return wordpress


def stop_wordpress(wordpress: WordPress) -> None:
    wordpress.stop()
    wordpress.db.stop()
