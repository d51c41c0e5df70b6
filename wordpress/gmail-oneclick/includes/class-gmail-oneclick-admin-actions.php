<?php
/**
 * The admin-post.php handlers: connect, test email, disconnect, default account.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Each handler checks the capability and its own nonce first, does one thing, and goes back to
 * the settings screen with one sentence (kept for that user only, for a few minutes).
 */
final class Gmail_OneClick_Admin_Actions {

	private const FLASH = 'gmail_oneclick_flash_';

	public static function register(): void {
		foreach ( array( 'connect', 'test_send', 'disconnect', 'default' ) as $name ) {
			add_action( 'admin_post_gmail_oneclick_' . $name, array( self::class, $name ) );
		}
	}

	/** Dies with 403 unless the user may manage options and the nonce of `$action` is good. */
	private static function guard( string $action ): void {
		if ( ! current_user_can( Gmail_OneClick_Admin_Page::CAPABILITY ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage Gmail one-click.', 'gmail-oneclick' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( $action );
	}

	public static function connect(): void {
		self::guard( 'gmail_oneclick_connect' );
		$hint   = isset( $_POST['login_hint'] ) ? sanitize_email( wp_unslash( (string) $_POST['login_hint'] ) ) : '';
		$answer = ( new Gmail_OneClick_Client() )->create_connection( Gmail_OneClick_Admin_Page::return_url(), is_email( $hint ) ? $hint : '' );
		if ( is_wp_error( $answer ) ) {
			self::back( 'error', self::connect_failed( $answer ) );
		}
		$target = is_string( $answer['connect_url'] ?? null ) ? $answer['connect_url'] : '';
		if ( ! Gmail_OneClick_Settings::url_allowed( preg_replace( '/[?#].*$/s', '', $target ) ?? '' ) ) {
			self::back( 'error', __( 'The service answered with a connect link this site will not follow (it must be https). Ask whoever runs the service to check its public URL.', 'gmail-oneclick' ) );
		}
		Gmail_OneClick_Connections::forget_cache();
		// wp_safe_redirect() only goes to allowed hosts: allow the connect link's host, once.
		$host  = (string) wp_parse_url( $target, PHP_URL_HOST );
		$allow = static fn( array $hosts ): array => array_merge( $hosts, array( $host ) );
		add_filter( 'allowed_redirect_hosts', $allow );
		wp_safe_redirect( $target, 303 );
		remove_filter( 'allowed_redirect_hosts', $allow );
		exit;
	}

	private static function connect_failed( WP_Error $error ): string {
		if ( 'invalid_request' === $error->get_error_code() ) {
			/* translators: %s: the service's explanation */
			return sprintf( __( 'The service did not accept this screen’s address as the place to come back to (%s). Ask whoever runs the service to register this site’s origin for it.', 'gmail-oneclick' ), $error->get_error_message() );
		}
		return Gmail_OneClick_Words::service_error( $error );
	}

	public static function test_send(): void {
		self::guard( 'gmail_oneclick_test_send' );
		$to = isset( $_POST['to'] ) ? sanitize_email( wp_unslash( (string) $_POST['to'] ) ) : '';
		$id = isset( $_POST['connection_id'] ) ? Gmail_OneClick_Settings::sanitize_id( wp_unslash( (string) $_POST['connection_id'] ) ) : '';
		if ( ! is_email( $to ) ) {
			self::back( 'error', __( 'No test email was sent: enter a valid email address to send it to.', 'gmail-oneclick' ) );
		}
		$list    = Gmail_OneClick_Connections::fresh();
		$list    = is_wp_error( $list ) ? array() : $list;
		$account = Gmail_OneClick_Connections::by_id( $list, $id )
			?? Gmail_OneClick_Connections::by_id( $list, Gmail_OneClick_Settings::default_connection() )
			?? ( $list[0] ?? null );
		$id      = null !== $account ? (string) $account['id'] : $id;
		$failure = null;
		$catch   = static function ( WP_Error $error ) use ( &$failure ): void {
			$failure = $error;
		};
		add_action( 'wp_mail_failed', $catch );
		$sent = Gmail_OneClick_Mailer::send_through(
			$id,
			array(
				'to'      => $to,
				'subject' => __( 'Test email from Gmail one-click', 'gmail-oneclick' ),
				/* translators: %s: the site's name */
				'message' => sprintf( __( 'This test email from %s went out through Gmail. If you can read it, the site’s mail works.', 'gmail-oneclick' ), get_bloginfo( 'name' ) ),
				'headers' => null !== $account ? array( 'From: ' . $account['email'] ) : array(),
			)
		);
		remove_action( 'wp_mail_failed', $catch );
		if ( $sent ) {
			$from = null !== $account ? (string) $account['email'] : __( 'the connected account', 'gmail-oneclick' );
			/* translators: %s: Gmail address */
			self::back( 'success', sprintf( __( 'The test email was sent through Gmail from %s. Check the inbox you sent it to.', 'gmail-oneclick' ), $from ) );
		}
		$why = $failure instanceof WP_Error ? $failure->get_error_message() : __( 'another plugin stopped it.', 'gmail-oneclick' );
		/* translators: %s: why the test email failed */
		self::back( 'error', sprintf( __( 'The test email was not sent. %s', 'gmail-oneclick' ), $why ) );
	}

	public static function disconnect(): void {
		self::guard( 'gmail_oneclick_disconnect' );
		$id = isset( $_POST['connection_id'] ) ? Gmail_OneClick_Settings::sanitize_id( wp_unslash( (string) $_POST['connection_id'] ) ) : '';
		if ( '' === $id ) {
			self::back( 'error', __( 'Nothing was disconnected: no account was named. Use the Disconnect button of the account.', 'gmail-oneclick' ) );
		}
		if ( empty( $_POST['confirm'] ) ) {
			self::back( 'error', __( 'Nothing was disconnected: tick the box that confirms it, then click Disconnect again.', 'gmail-oneclick' ) );
		}
		$done = ( new Gmail_OneClick_Client() )->delete_connection( $id );
		if ( is_wp_error( $done ) ) {
			/* translators: %s: why it failed, with the next step */
			self::back( 'error', sprintf( __( 'Nothing was disconnected. %s', 'gmail-oneclick' ), Gmail_OneClick_Words::service_error( $done ) ) );
		}
		Gmail_OneClick_Connections::mark_removed( $id );
		if ( Gmail_OneClick_Settings::default_connection() === $id ) {
			Gmail_OneClick_Settings::set( 'default_connection', '' );
		}
		self::back( 'success', __( 'The account was disconnected and its Google access revoked. This site no longer sends from it.', 'gmail-oneclick' ) );
	}

	public static function default(): void {
		self::guard( 'gmail_oneclick_default' );
		$id = isset( $_POST['default_connection'] ) ? Gmail_OneClick_Settings::sanitize_id( wp_unslash( (string) $_POST['default_connection'] ) ) : '';
		Gmail_OneClick_Settings::set( 'default_connection', $id );
		self::back(
			'success',
			'' === $id
				? __( 'No default account: a message whose From address matches no connected account goes through the only connected account, and fails when there are several.', 'gmail-oneclick' )
				: __( 'Saved: messages whose From address matches no connected account now go through the chosen account.', 'gmail-oneclick' )
		);
	}

	/** Back to the settings screen with one sentence; never returns. */
	private static function back( string $type, string $text ): never {
		set_transient(
			self::FLASH . get_current_user_id(),
			array(
				'type' => $type,
				'text' => $text,
			),
			300
		);
		wp_safe_redirect( Gmail_OneClick_Settings::page_url() );
		exit;
	}

	/** @return array{type: string, text: string}|null The sentence left by the last action. */
	public static function take_flash(): ?array {
		$key   = self::FLASH . get_current_user_id();
		$flash = get_transient( $key );
		if ( ! is_array( $flash ) || ! isset( $flash['type'], $flash['text'] ) ) {
			return null;
		}
		delete_transient( $key );
		return array(
			'type' => (string) $flash['type'],
			'text' => (string) $flash['text'],
		);
	}
}
