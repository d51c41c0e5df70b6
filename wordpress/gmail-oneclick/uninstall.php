<?php
/**
 * Uninstall: disconnect every connection of the site at the service (so the grants are
 * revoked at Google, not left behind), then delete the plugin's options, transients and tables.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

require_once __DIR__ . '/includes/class-gmail-oneclick-settings.php';
require_once __DIR__ . '/includes/class-gmail-oneclick-client.php';
require_once __DIR__ . '/includes/class-gmail-oneclick-connections.php';
require_once __DIR__ . '/includes/class-gmail-oneclick-store.php';

/**
 * One site's part of the uninstall.
 */
function gmail_oneclick_uninstall_site(): void {
	global $wpdb;
	$client = new Gmail_OneClick_Client();
	if ( $client->configured() ) {
		$list = $client->list_connections();
		if ( is_wp_error( $list ) ) {
			// Going on anyway: the plugin cannot be kept from being deleted. Code only, no secret.
			error_log( 'gmail-oneclick: uninstall could not list connections: ' . $list->get_error_code() ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
			$list = array();
		}
		foreach ( $list as $connection ) {
			if ( 'connected' !== $connection['status'] && isset( Gmail_OneClick_Connections::removed()[ $connection['id'] ] ) ) {
				continue; // Disconnected here before: nothing left to revoke.
			}
			$done = $client->delete_connection( (string) $connection['id'] );
			if ( is_wp_error( $done ) ) {
				error_log( 'gmail-oneclick: uninstall could not disconnect a connection: ' . $done->get_error_code() ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
			}
		}
	}
	delete_option( Gmail_OneClick_Settings::OPTION );
	delete_option( Gmail_OneClick_Connections::REVOKED );
	delete_option( Gmail_OneClick_Connections::REMOVED );
	delete_transient( Gmail_OneClick_Connections::CACHE );
	// Per-user result sentences of the settings screen.
	$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s", $wpdb->esc_like( '_transient_gmail_oneclick_' ) . '%', $wpdb->esc_like( '_transient_timeout_gmail_oneclick_' ) . '%' ) );
	Gmail_OneClick_Store::drop();
}

if ( is_multisite() ) {
	foreach ( get_sites( array( 'fields' => 'ids' ) ) as $gmail_oneclick_site ) {
		switch_to_blog( (int) $gmail_oneclick_site );
		gmail_oneclick_uninstall_site();
		restore_current_blog();
	}
} else {
	gmail_oneclick_uninstall_site();
}
