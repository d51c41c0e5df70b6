"""A real WordPress for the plugin's tests: Debian's /usr/share/wordpress copied into a test
folder with its own wp-config.php (``wp_files``), on a throwaway MariaDB (``mariadb``: its own
data directory and unix socket, started and stopped by its pid), served by PHP's built-in
server on loopback (``php_server``). ``WordPress`` ties them together and drives the site.

Nothing here reaches the network: WordPress is told to block every outside host
(``WP_HTTP_BLOCK_EXTERNAL``), so a request the plugin should not make fails instead of leaving.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.wordpress.mariadb import MariaDB, sbin
from tests.wordpress.php_server import PhpServer
from tests.wordpress.waiting import free_port
from tests.wordpress.wp_files import DEBIAN_WORDPRESS, lay_out_files

REPO = Path(__file__).resolve().parents[2]
PLUGIN_SOURCE = REPO / "wordpress" / "gmail-oneclick"
BRIDGE_SOURCE = REPO / "wordpress" / "gmail-oneclick-postsmtp-bridge.php"
RUNNER = Path(__file__).resolve().parent / "run.php"
PLUGIN_FILE = "gmail-oneclick/gmail-oneclick.php"
ADMIN_USER = "admin"
ADMIN_EMAIL = "admin@blog.example.com"


def missing_parts() -> list[str]:
    """What this machine lacks to run a real WordPress (empty when everything is there)."""
    wanted = {
        "php": shutil.which("php"),
        "mariadbd": shutil.which("mariadbd") or sbin("mariadbd"),
        "mariadb-install-db": shutil.which("mariadb-install-db"),
        "wordpress": (DEBIAN_WORDPRESS / "wp-settings.php").exists() or None,
    }
    return [name for name, found in wanted.items() if not found]


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
    _server: PhpServer | None = None

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
        """Debian's WordPress copied, our wp-config.php and wp-content, the plugin's source."""
        lay_out_files(self.root, socket=self.db.socket, url=self.url, debug_log=self.debug_log)
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
        self._server = PhpServer(self.root, self.port)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
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
