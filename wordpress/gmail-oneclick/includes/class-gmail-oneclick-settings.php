<?php
/**
 * The plugin's settings: one option, each value overridable by a constant in wp-config.php.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Reads and validates `gmail_oneclick_settings`.
 *
 * A constant wins over the stored value, as admins of mail plugins expect: a key kept in
 * wp-config.php stays out of the database and out of every screen.
 */
final class Gmail_OneClick_Settings {

	public const OPTION = 'gmail_oneclick_settings';
	public const GROUP  = 'gmail_oneclick';
	public const PAGE   = 'gmail-oneclick';

	/** Setting name => constant that overrides it. */
	public const CONSTANTS = array(
		'service_url'    => 'GMAIL_ONECLICK_SERVICE_URL',
		'api_key'        => 'GMAIL_ONECLICK_API_KEY',
		'webhook_secret' => 'GMAIL_ONECLICK_WEBHOOK_SECRET',
	);

	public static function register(): void {
		add_action( 'admin_init', array( self::class, 'register_setting' ) );
		// A new URL or key may name other connections: never route mail by a stale list.
		add_action( 'update_option_' . self::OPTION, array( Gmail_OneClick_Connections::class, 'forget_cache' ) );
	}

	public static function register_setting(): void {
		register_setting(
			self::GROUP,
			self::OPTION,
			array(
				'type'              => 'object',
				'sanitize_callback' => array( self::class, 'sanitize' ),
				'show_in_rest'      => false,
				'default'           => self::defaults(),
			)
		);
	}

	/** @return array{service_url: string, api_key: string, webhook_secret: string, default_connection: string} */
	public static function defaults(): array {
		return array(
			'service_url'        => '',
			'api_key'            => '',
			'webhook_secret'     => '',
			'default_connection' => '',
		);
	}

	/** @return array{service_url: string, api_key: string, webhook_secret: string, default_connection: string} */
	public static function stored(): array {
		$stored = get_option( self::OPTION, array() );
		$values = self::defaults();
		if ( is_array( $stored ) ) {
			foreach ( $values as $name => $unused ) {
				if ( isset( $stored[ $name ] ) && is_string( $stored[ $name ] ) ) {
					$values[ $name ] = $stored[ $name ];
				}
			}
		}
		return $values;
	}

	/** True when wp-config.php defines the constant for this setting. */
	public static function from_constant( string $name ): bool {
		return isset( self::CONSTANTS[ $name ] ) && defined( self::CONSTANTS[ $name ] );
	}

	/** The effective value of a setting: the constant when defined, else the stored value. */
	public static function get( string $name ): string {
		if ( self::from_constant( $name ) ) {
			return trim( (string) constant( self::CONSTANTS[ $name ] ) );
		}
		return self::stored()[ $name ] ?? '';
	}

	/** The service's base URL without a trailing slash, or '' when missing or not allowed. */
	public static function service_url(): string {
		$url = untrailingslashit( self::get( 'service_url' ) );
		return self::url_allowed( $url ) ? $url : '';
	}

	public static function api_key(): string {
		return self::get( 'api_key' );
	}

	public static function webhook_secret(): string {
		return self::get( 'webhook_secret' );
	}

	public static function default_connection(): string {
		return self::stored()['default_connection'];
	}

	/** Enough to talk to the service. */
	public static function configured(): bool {
		return '' !== self::service_url() && '' !== self::api_key();
	}

	/**
	 * https, or http on a loopback host only (127.0.0.0/8, ::1, localhost): a key sent over
	 * plain http anywhere else could be read on the way.
	 */
	public static function url_allowed( string $url ): bool {
		if ( '' === $url || preg_match( '/[\s\\\\]/', $url ) ) {
			return false;
		}
		$parts = wp_parse_url( $url );
		if ( ! is_array( $parts ) || empty( $parts['scheme'] ) || empty( $parts['host'] ) ) {
			return false;
		}
		if ( isset( $parts['user'] ) || isset( $parts['pass'] ) || isset( $parts['query'] ) || isset( $parts['fragment'] ) ) {
			return false;
		}
		$scheme = strtolower( $parts['scheme'] );
		if ( 'https' === $scheme ) {
			return true;
		}
		return 'http' === $scheme && self::is_loopback_host( $parts['host'] );
	}

	public static function is_loopback_host( string $host ): bool {
		$host = strtolower( trim( $host, '[]' ) );
		if ( 'localhost' === $host || '::1' === $host ) {
			return true;
		}
		return false !== filter_var( $host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4 ) && str_starts_with( $host, '127.' );
	}

	/** A Standard Webhooks secret: `whsec_` then base64 of at least 24 bytes. */
	public static function secret_valid( string $secret ): bool {
		if ( ! str_starts_with( $secret, 'whsec_' ) ) {
			return false;
		}
		$key = base64_decode( substr( $secret, 6 ), true );
		return false !== $key && strlen( $key ) >= 24;
	}

	/**
	 * Sanitize callback of the Settings API. Starts from what is stored, so a blank key or
	 * secret keeps the stored one, and fields absent from the form are left alone.
	 *
	 * @param mixed $input What was submitted.
	 * @return array<string, string>
	 */
	public static function sanitize( $input ): array {
		$values = self::stored();
		if ( ! is_array( $input ) ) {
			return $values;
		}
		if ( isset( $input['service_url'] ) && is_string( $input['service_url'] ) && ! self::from_constant( 'service_url' ) ) {
			$url = untrailingslashit( trim( $input['service_url'] ) );
			if ( '' === $url || self::url_allowed( $url ) ) {
				$values['service_url'] = esc_url_raw( $url, array( 'http', 'https' ) );
			} else {
				self::error( 'service_url', __( 'The service URL was not saved: it must start with https:// (http:// only for this computer: 127.0.0.1, ::1 or localhost) and have no query or fragment.', 'gmail-oneclick' ) );
			}
		}
		if ( isset( $input['api_key'] ) && is_string( $input['api_key'] ) && ! self::from_constant( 'api_key' ) ) {
			$key = trim( $input['api_key'] );
			if ( preg_match( '/^[\x21-\x7e]{8,512}$/', $key ) ) {
				$values['api_key'] = $key;
			} elseif ( '' !== $key ) {
				self::error( 'api_key', __( 'The API key was not saved: paste it exactly as the service printed it, without spaces.', 'gmail-oneclick' ) );
			}
		}
		if ( isset( $input['webhook_secret'] ) && is_string( $input['webhook_secret'] ) && ! self::from_constant( 'webhook_secret' ) ) {
			$secret = trim( $input['webhook_secret'] );
			if ( '' !== $secret && self::secret_valid( $secret ) ) {
				$values['webhook_secret'] = $secret;
			} elseif ( '' !== $secret ) {
				self::error( 'webhook_secret', __( 'The webhook secret was not saved: it starts with whsec_ followed by the rest of what the service printed.', 'gmail-oneclick' ) );
			}
		}
		if ( isset( $input['default_connection'] ) && is_string( $input['default_connection'] ) ) {
			$values['default_connection'] = self::sanitize_id( $input['default_connection'] );
		}
		if ( ! empty( $input['forget_api_key'] ) && ! self::from_constant( 'api_key' ) ) {
			$values['api_key'] = '';
		}
		return $values;
	}

	/** Connection ids are short tokens of letters, digits, `_` and `-`. */
	public static function sanitize_id( string $id ): string {
		$id = trim( $id );
		return preg_match( '/^[A-Za-z0-9_-]{1,128}$/', $id ) ? $id : '';
	}

	/** Stores one setting directly (the sanitize callback still runs). */
	public static function set( string $name, string $value ): void {
		$values          = self::stored();
		$values[ $name ] = $value;
		update_option( self::OPTION, $values );
	}

	private static function error( string $field, string $message ): void {
		if ( function_exists( 'add_settings_error' ) ) {
			add_settings_error( self::OPTION, 'gmail_oneclick_' . $field, $message, 'error' );
		}
	}

	/** The settings screen, optionally with query arguments. */
	public static function page_url( array $args = array() ): string {
		return add_query_arg( array_merge( array( 'page' => self::PAGE ), $args ), admin_url( 'options-general.php' ) );
	}
}
