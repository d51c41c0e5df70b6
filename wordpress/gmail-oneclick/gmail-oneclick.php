<?php
/**
 * Plugin Name:       Gmail one-click
 * Description:       Sends every wp_mail() through the Gmail account you connect with one Google consent, via your gmail-oneclick service.
 * Version:           1.0.0
 * Requires at least: 6.1
 * Requires PHP:      8.1
 * Author:            gmail-oneclick
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       gmail-oneclick
 * Domain Path:       /languages
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'GMAIL_ONECLICK_VERSION', '1.0.0' );
define( 'GMAIL_ONECLICK_FILE', __FILE__ );
define( 'GMAIL_ONECLICK_DIR', __DIR__ );

require_once __DIR__ . '/includes/class-gmail-oneclick-settings.php';
require_once __DIR__ . '/includes/class-gmail-oneclick-client.php';
require_once __DIR__ . '/includes/class-gmail-oneclick-words.php';
require_once __DIR__ . '/includes/class-gmail-oneclick-connections.php';
require_once __DIR__ . '/includes/class-gmail-oneclick-store.php';
require_once __DIR__ . '/includes/class-gmail-oneclick-message.php';
require_once __DIR__ . '/includes/class-gmail-oneclick-mailer.php';
require_once __DIR__ . '/includes/class-gmail-oneclick-webhook.php';

register_activation_hook( __FILE__, array( 'Gmail_OneClick_Store', 'install' ) );

add_action(
	'init',
	static function (): void {
		load_plugin_textdomain( 'gmail-oneclick', false, dirname( plugin_basename( __FILE__ ) ) . '/languages' );
	}
);

Gmail_OneClick_Mailer::register();
Gmail_OneClick_Webhook::register();
Gmail_OneClick_Settings::register();

if ( is_admin() ) {
	require_once __DIR__ . '/includes/class-gmail-oneclick-admin-page.php';
	require_once __DIR__ . '/includes/class-gmail-oneclick-admin-sections.php';
	require_once __DIR__ . '/includes/class-gmail-oneclick-admin-actions.php';
	require_once __DIR__ . '/includes/class-gmail-oneclick-admin-notice.php';
	Gmail_OneClick_Admin_Page::register();
	Gmail_OneClick_Admin_Actions::register();
	Gmail_OneClick_Admin_Notice::register();
}
