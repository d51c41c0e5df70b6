<?php
/**
 * The parts of the settings screen: connections, default, test email, webhook URL, send log.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Plain HTML forms posting to admin-post.php, each with its nonce: nothing needs JavaScript.
 */
final class Gmail_OneClick_Admin_Sections {

	/** One sentence of outcome, success or error. */
	public static function result( string $type, string $text ): void {
		$class = 'success' === $type ? 'notice-success' : 'notice-error';
		printf( '<div class="notice %1$s gmail-oneclick-result gmail-oneclick-result-%2$s"><p>%3$s</p></div>', esc_attr( $class ), esc_attr( $type ), esc_html( $text ) );
	}

	/** The opening of a form to admin-post.php for `$action`, nonce included. */
	public static function form_open( string $action, string $id = '', string $class = '' ): void {
		printf(
			'<form method="post" action="%1$s"%2$s class="gmail-oneclick-form %3$s"><input type="hidden" name="action" value="%4$s" />',
			esc_url( admin_url( 'admin-post.php' ) ),
			'' !== $id ? ' id="' . esc_attr( $id ) . '"' : '',
			esc_attr( $class ),
			esc_attr( $action )
		);
		wp_nonce_field( $action );
	}

	/** A "Connect Gmail" (or "Reconnect") button; `$login_hint` preselects the account. */
	public static function connect_button( string $label, string $login_hint = '', bool $primary = true ): void {
		self::form_open( 'gmail_oneclick_connect', '', 'gmail-oneclick-connect' );
		if ( '' !== $login_hint ) {
			echo '<input type="hidden" name="login_hint" value="' . esc_attr( $login_hint ) . '" />';
		}
		printf( '<button type="submit" class="button %1$s">%2$s</button></form>', esc_attr( $primary ? 'button-primary' : 'button-secondary' ), esc_html( $label ) );
	}

	/** @param array<int, array<string, mixed>>|WP_Error $list */
	public static function connections( $list ): void {
		echo '<section id="gmail-oneclick-connections" class="gmail-oneclick-section">';
		echo '<h2>' . esc_html__( 'Connected Gmail accounts', 'gmail-oneclick' ) . '</h2>';
		if ( is_wp_error( $list ) ) {
			echo '<p class="gmail-oneclick-service-error">' . esc_html( Gmail_OneClick_Words::service_error( $list ) ) . '</p>';
			echo '</section>';
			return;
		}
		if ( array() === $list ) {
			echo '<p>' . esc_html__( 'No Gmail account is connected yet. Click “Connect Gmail”, choose the account this site should send from, and allow sending.', 'gmail-oneclick' ) . '</p>';
		}
		foreach ( $list as $connection ) {
			self::connection( $connection );
		}
		self::connect_button( array() === $list ? __( 'Connect Gmail', 'gmail-oneclick' ) : __( 'Connect another Gmail account', 'gmail-oneclick' ) );
		echo '</section>';
	}

	/** @param array<string, mixed> $c */
	private static function connection( array $c ): void {
		$id      = (string) $c['id'];
		$email   = (string) $c['email'];
		$revoked = 'reconnect_required' === $c['status'];
		$status  = Gmail_OneClick_Words::status( (string) $c['status'] );
		if ( $revoked ) {
			$status .= ' (' . Gmail_OneClick_Words::revocation_reason( is_string( $c['revocation_reason'] ?? null ) ? $c['revocation_reason'] : null ) . ')';
		}
		printf( '<div class="gmail-oneclick-connection%1$s" data-connection-id="%2$s">', esc_attr( $revoked ? ' gmail-oneclick-revoked' : '' ), esc_attr( $id ) );
		echo '<h3 class="gmail-oneclick-account">' . esc_html( $email ) . '</h3><dl>';
		$rows = array(
			'status'   => array( __( 'Status', 'gmail-oneclick' ), $status ),
			'since'    => array( __( 'Connected since', 'gmail-oneclick' ), self::local_time( $c['created_at'] ?? null ) ),
			'verified' => array( __( 'Last verified', 'gmail-oneclick' ), self::local_time( $c['last_verified_at'] ?? null ) ),
		);
		foreach ( $rows as $key => $row ) {
			printf( '<dt>%1$s</dt><dd class="gmail-oneclick-%2$s">%3$s</dd>', esc_html( $row[0] ), esc_attr( $key ), esc_html( $row[1] ) );
		}
		echo '</dl><div class="gmail-oneclick-actions">';
		if ( $revoked ) {
			self::connect_button( __( 'Reconnect', 'gmail-oneclick' ), $email );
		}
		self::disconnect_form( $id, $email );
		echo '</div></div>';
	}

	/** A required checkbox is the confirmation; the handler checks it too. */
	private static function disconnect_form( string $id, string $email ): void {
		self::form_open( 'gmail_oneclick_disconnect', '', 'gmail-oneclick-disconnect' );
		$box = 'gmail-oneclick-confirm-' . $id;
		printf( '<input type="hidden" name="connection_id" value="%s" />', esc_attr( $id ) );
		printf(
			'<p><label for="%1$s"><input type="checkbox" id="%1$s" name="confirm" value="1" required /> %2$s</label></p>',
			esc_attr( $box ),
			/* translators: %s: Gmail address */
			esc_html( sprintf( __( 'Yes, disconnect %s: this site stops sending from it and its Google access is revoked.', 'gmail-oneclick' ), $email ) )
		);
		echo '<button type="submit" class="button button-secondary gmail-oneclick-disconnect-button">' . esc_html__( 'Disconnect', 'gmail-oneclick' ) . '</button></form>';
	}

	/** @param array<int, array<string, mixed>> $list */
	public static function default_connection( array $list ): void {
		$current = Gmail_OneClick_Settings::default_connection();
		echo '<section class="gmail-oneclick-section"><h2>' . esc_html__( 'Which account sends', 'gmail-oneclick' ) . '</h2>';
		echo '<p>' . esc_html__( 'A message goes out through the account whose address is its From address. Other messages (WordPress sends from wordpress@ your domain by default) go through the account chosen here.', 'gmail-oneclick' ) . '</p>';
		self::form_open( 'gmail_oneclick_default', 'gmail-oneclick-default' );
		echo '<label for="gmail-oneclick-default-connection">' . esc_html__( 'Default account', 'gmail-oneclick' ) . '</label> ';
		echo '<select id="gmail-oneclick-default-connection" name="default_connection">';
		printf( '<option value="">%s</option>', esc_html__( 'None: only the From address decides', 'gmail-oneclick' ) );
		foreach ( $list as $c ) {
			printf( '<option value="%1$s"%2$s>%3$s</option>', esc_attr( (string) $c['id'] ), selected( $current, $c['id'], false ), esc_html( (string) $c['email'] ) );
		}
		echo '</select> <button type="submit" class="button">' . esc_html__( 'Save', 'gmail-oneclick' ) . '</button></form></section>';
	}

	/** @param array<int, array<string, mixed>> $list */
	public static function test_email( array $list ): void {
		echo '<section class="gmail-oneclick-section"><h2>' . esc_html__( 'Send a test email', 'gmail-oneclick' ) . '</h2>';
		self::form_open( 'gmail_oneclick_test_send', 'gmail-oneclick-test' );
		echo '<p><label for="gmail-oneclick-test-from">' . esc_html__( 'From', 'gmail-oneclick' ) . '</label><br /><select id="gmail-oneclick-test-from" name="connection_id">';
		foreach ( $list as $c ) {
			printf( '<option value="%1$s"%2$s>%3$s</option>', esc_attr( (string) $c['id'] ), selected( Gmail_OneClick_Settings::default_connection(), $c['id'], false ), esc_html( (string) $c['email'] ) );
		}
		echo '</select></p>';
		printf(
			'<p><label for="gmail-oneclick-test-to">%1$s</label><br /><input type="email" id="gmail-oneclick-test-to" name="to" value="%2$s" class="regular-text" required /></p>',
			esc_html__( 'To', 'gmail-oneclick' ),
			esc_attr( (string) get_option( 'admin_email' ) )
		);
		echo '<button type="submit" class="button button-primary">' . esc_html__( 'Send test email', 'gmail-oneclick' ) . '</button></form></section>';
	}

	public static function webhook(): void {
		echo '<section id="gmail-oneclick-webhook" class="gmail-oneclick-section"><h2>' . esc_html__( 'Webhook', 'gmail-oneclick' ) . '</h2>';
		echo '<p>' . esc_html__( 'Register this URL as the site’s webhook URL at the service, so this screen learns at once when Google access is removed:', 'gmail-oneclick' ) . '</p>';
		echo '<p><code class="gmail-oneclick-webhook-url">' . esc_html( Gmail_OneClick_Webhook::url() ) . '</code></p></section>';
	}

	/** @param array<int, array<string, mixed>> $list Used to show addresses for connection ids. */
	public static function send_log( array $list ): void {
		$rows = Gmail_OneClick_Store::recent_sends();
		echo '<section id="gmail-oneclick-log" class="gmail-oneclick-section"><h2>' . esc_html__( 'Recent sends', 'gmail-oneclick' ) . '</h2>';
		echo '<p>' . esc_html__( 'The last 200 messages: when, from which account, to how many recipients, and what happened. No subject, address or content is kept.', 'gmail-oneclick' ) . '</p>';
		if ( array() === $rows ) {
			echo '<p>' . esc_html__( 'Nothing sent yet.', 'gmail-oneclick' ) . '</p></section>';
			return;
		}
		$labels = array( __( 'Time', 'gmail-oneclick' ), __( 'Account', 'gmail-oneclick' ), __( 'Recipients', 'gmail-oneclick' ), __( 'Outcome', 'gmail-oneclick' ), __( 'Gmail id or error', 'gmail-oneclick' ) );
		echo '<table class="widefat striped gmail-oneclick-log"><thead><tr>';
		foreach ( $labels as $label ) {
			echo '<th scope="col">' . esc_html( $label ) . '</th>';
		}
		echo '</tr></thead><tbody>';
		foreach ( $rows as $row ) {
			$known   = Gmail_OneClick_Connections::by_id( $list, (string) $row['account'] );
			$account = null !== $known ? (string) $known['email'] : (string) $row['account'];
			$cells   = array(
				self::local_time( $row['sent_at'] . 'Z' ),
				'' !== $account ? $account : '—',
				(string) $row['recipients'],
				'sent' === $row['outcome'] ? __( 'Sent', 'gmail-oneclick' ) : __( 'Failed', 'gmail-oneclick' ),
				(string) $row['result'],
			);
			echo '<tr class="gmail-oneclick-log-' . esc_attr( (string) $row['outcome'] ) . '">';
			foreach ( $cells as $i => $cell ) {
				printf( '<td data-label="%1$s">%2$s</td>', esc_attr( $labels[ $i ] ), esc_html( $cell ) );
			}
			echo '</tr>';
		}
		echo '</tbody></table></section>';
	}

	/** An RFC 3339 UTC time in the site's own date and time format and time zone. */
	public static function local_time( mixed $value ): string {
		$stamp = is_string( $value ) && '' !== $value ? strtotime( $value ) : false;
		if ( false === $stamp ) {
			return __( 'Not yet', 'gmail-oneclick' );
		}
		return (string) wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $stamp );
	}
}
