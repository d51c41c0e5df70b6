"""The files of a test WordPress: Debian's WordPress copied, our wp-config.php (a throwaway
MariaDB, debug.log on, every outside host blocked), our own wp-content with a must-use plugin
that keeps WordPress from checking for updates."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

DEBIAN_WORDPRESS = Path("/usr/share/wordpress")

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


def lay_out_files(root: Path, *, socket: Path, url: str, debug_log: Path) -> None:
    """Debian's WordPress copied to ``root``, our wp-config.php, our own wp-content. Debian
    links a few files to shared packages (underscore.js, getID3, CA certificates) with relative
    links, which would dangle in the copy: the copy holds what they point at."""
    shutil.copytree(DEBIAN_WORDPRESS, root, symlinks=False,
                    ignore=shutil.ignore_patterns("wp-config.php", "wp-content", ".htaccess"))
    salts = "\n".join(f"define('{n}', '{secrets.token_hex(32)}');" for n in SALT_NAMES)
    (root / "wp-config.php").write_text(WP_CONFIG.format(
        socket=socket, salts=salts, url=url, debug_log=debug_log))
    content = root / "wp-content"
    for folder in ("plugins", "mu-plugins", "uploads", "themes"):
        (content / folder).mkdir(parents=True, exist_ok=True)
    (content / "mu-plugins" / "harness-offline.php").write_text(OFFLINE_MU_PLUGIN)
