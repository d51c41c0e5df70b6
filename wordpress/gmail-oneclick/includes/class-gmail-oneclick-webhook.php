<?php
/**
 * POST /wp-json/gmail-oneclick/v1/webhook: the service's connection.revoked and
 * connection.connected events, verified per the Standard Webhooks specification.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The signature is the authentication, so the route is public and checks, in order: the
 * three headers are there (400), the timestamp is within five minutes of our clock either way
 * (400), an HMAC-SHA256 of "{id}.{timestamp}.{body}" under the secret matches one listed
 * signature (401), and the id was not seen before (409). Only then is the event applied.
 */
final class Gmail_OneClick_Webhook {

	public const NAMESPACE_V1 = 'gmail-oneclick/v1';
	public const ROUTE        = '/webhook';
	public const TOLERANCE    = 300;

	public static function register(): void {
		add_action( 'rest_api_init', array( self::class, 'register_route' ) );
	}

	public static function register_route(): void {
		register_rest_route(
			self::NAMESPACE_V1,
			self::ROUTE,
			array(
				'methods'             => 'POST',
				'callback'            => array( self::class, 'receive' ),
				// Public on purpose: the Standard Webhooks signature is checked in the callback.
				'permission_callback' => '__return_true',
			)
		);
	}

	/** The URL to register as the site's webhook URL at the service. */
	public static function url(): string {
		return rest_url( self::NAMESPACE_V1 . self::ROUTE );
	}

	public static function receive( WP_REST_Request $request ): WP_REST_Response {
		$id        = (string) $request->get_header( 'webhook-id' );
		$timestamp = (string) $request->get_header( 'webhook-timestamp' );
		$signature = (string) $request->get_header( 'webhook-signature' );
		$body      = (string) $request->get_body();
		$secret    = Gmail_OneClick_Settings::webhook_secret();

		if ( ! Gmail_OneClick_Settings::secret_valid( $secret ) ) {
			// 503 so the service retries once the admin has entered the secret.
			return self::refuse( 503, 'webhook_secret_missing', 'This site has no webhook secret configured yet.' );
		}
		if ( '' === $id || strlen( $id ) > 191 || ! preg_match( '/^[\x21-\x7e]+$/', $id ) || ! ctype_digit( $timestamp ) || '' === $signature ) {
			return self::refuse( 400, 'malformed_webhook', 'The webhook-id, webhook-timestamp and webhook-signature headers are required.' );
		}
		if ( abs( time() - (int) $timestamp ) > self::TOLERANCE ) {
			return self::refuse( 400, 'timestamp_out_of_range', 'The webhook timestamp is more than five minutes away from this site\'s clock.' );
		}
		if ( ! self::signed( $secret, $id, $timestamp, $body, $signature ) ) {
			return self::refuse( 401, 'invalid_signature', 'No webhook signature matches this site\'s webhook secret.' );
		}
		$event = json_decode( $body, true );
		if ( ! is_array( $event ) || ! is_string( $event['type'] ?? null ) || ! is_array( $event['data'] ?? null ) ) {
			return self::refuse( 400, 'malformed_webhook', 'The webhook body is not an event.' );
		}
		$fresh = Gmail_OneClick_Store::remember_webhook_id( $id );
		if ( null === $fresh ) {
			return self::refuse( 503, 'storage_unavailable', 'The site could not record the webhook; retry later.' );
		}
		if ( ! $fresh ) {
			return self::refuse( 409, 'replayed', 'This webhook-id was received before.' );
		}
		$at = is_string( $event['timestamp'] ?? null ) ? strtotime( $event['timestamp'] ) : false;
		self::apply( $event['type'], $event['data'], false !== $at ? $at : (int) $timestamp );
		return new WP_REST_Response( array( 'received' => true ), 200 );
	}

	/**
	 * Constant-time check of every `v1,<base64>` entry of the space-separated list.
	 */
	public static function signed( string $secret, string $id, string $timestamp, string $body, string $header ): bool {
		$key = base64_decode( substr( $secret, strlen( 'whsec_' ) ), true );
		if ( false === $key || '' === $key ) {
			return false;
		}
		$expected = base64_encode( hash_hmac( 'sha256', $id . '.' . $timestamp . '.' . $body, $key, true ) );
		$matched  = false;
		foreach ( preg_split( '/\s+/', trim( $header ) ) as $entry ) {
			$parts = explode( ',', $entry, 2 );
			if ( 2 === count( $parts ) && 'v1' === $parts[0] && hash_equals( $expected, $parts[1] ) ) {
				$matched = true;
			}
		}
		return $matched;
	}

	/**
	 * @param array<string, mixed> $data `connection_id`, `email`, `reason`.
	 * @param int                  $at   When the service saw it happen.
	 */
	private static function apply( string $type, array $data, int $at ): void {
		$id = is_string( $data['connection_id'] ?? null ) ? Gmail_OneClick_Settings::sanitize_id( $data['connection_id'] ) : '';
		if ( '' === $id ) {
			return;
		}
		$email  = is_string( $data['email'] ?? null ) ? sanitize_email( $data['email'] ) : '';
		$reason = is_string( $data['reason'] ?? null ) ? sanitize_key( $data['reason'] ) : '';
		if ( 'connection.revoked' === $type ) {
			Gmail_OneClick_Connections::mark_revoked( $id, $email, $reason, $at );
		} elseif ( 'connection.connected' === $type ) {
			Gmail_OneClick_Connections::unmark_removed( $id, $at );
			Gmail_OneClick_Connections::mark_connected( $id, $email, $at );
		}
		// Other event types are acknowledged and ignored: the service may add some.
	}

	private static function refuse( int $status, string $code, string $message ): WP_REST_Response {
		return new WP_REST_Response(
			array(
				'error' => array(
					'code'    => $code,
					'message' => $message,
				),
			),
			$status
		);
	}
}
