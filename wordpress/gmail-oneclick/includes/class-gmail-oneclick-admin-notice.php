<?php
/**
 * The admin notice on every screen while a connection's Google access is gone.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Not dismissible: mail from that account fails until it is reconnected (or disconnected).
 */
final class Gmail_OneClick_Admin_Notice {

	public static function register(): void {
		add_action( 'admin_notices', array( self::class, 'render' ) );
	}

	public static function render(): void {
		if ( ! current_user_can( Gmail_OneClick_Admin_Page::CAPABILITY ) ) {
			return;
		}
		foreach ( Gmail_OneClick_Connections::revoked() as $id => $entry ) {
			$account = '' !== $entry['email'] ? $entry['email'] : __( 'a connected account', 'gmail-oneclick' );
			printf( '<div class="notice notice-error gmail-oneclick-revoked-notice" data-connection-id="%s"><p>', esc_attr( (string) $id ) );
			echo esc_html(
				sprintf(
					/* translators: 1: Gmail address, 2: why access ended */
					__( 'Gmail access for %1$s was removed (%2$s). Mail from this site will fail until you reconnect.', 'gmail-oneclick' ),
					$account,
					Gmail_OneClick_Words::revocation_reason( '' !== $entry['reason'] ? $entry['reason'] : null )
				)
			);
			echo '</p>';
			Gmail_OneClick_Admin_Sections::connect_button( __( 'Reconnect', 'gmail-oneclick' ), is_email( $entry['email'] ) ? $entry['email'] : '' );
			echo '</div>';
		}
	}
}
