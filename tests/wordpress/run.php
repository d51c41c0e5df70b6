<?php
// Test harness: runs the PHP code on standard input inside the WordPress at $WP_ROOT, as the
// user $WP_USER (0: nobody), the way a request to that site would see it.
$_SERVER['HTTP_HOST'] = getenv('WP_HOST');
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['SERVER_PORT'] = explode(':', getenv('WP_HOST'))[1] ?? '80';
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REMOTE_ADDR'] = '127.0.0.1';
if (getenv('WP_INSTALLING_RUN')) {
    define('WP_INSTALLING', true);
}
$gmail_oneclick_test_code = stream_get_contents(STDIN);
require getenv('WP_ROOT') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$gmail_oneclick_test_user = (int) getenv('WP_USER');
if ($gmail_oneclick_test_user > 0) {
    wp_set_current_user($gmail_oneclick_test_user);
}
eval($gmail_oneclick_test_code);
