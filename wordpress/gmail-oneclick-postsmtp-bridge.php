<?php
/**
 * Plugin Name:       Gmail one-click: Post SMTP bridge
 * Description:       For sites on Post SMTP's "Gmail One-Click": sends the messages Post SMTP gives its hard-coded relay to your own gmail-oneclick service instead. Must-use plugin: copy this file into wp-content/mu-plugins/.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      8.1
 * License:           GPL-2.0-or-later
 * Text Domain:       gmail-oneclick
 *
 * How it works. Post SMTP (3.x, "Gmail One-Click") hands every message to
 * wp_remote_post( 'https://connect.postmansmtp.com/wp-json/gmail-oauth/v1/send-email', ... )
 * with a JSON body {"message": base64url of the whole RFC 5322 message, "headers", "site_url"}
 * and reads "data" from a 200 answer. The service answers that same route, so this bridge
 * catches exactly that one request in `pre_http_request` and sends it, body and content type
 * unchanged, to {service URL}/wp-json/gmail-oauth/v1/send-email with the site's API key as a
 * bearer token. Every other HTTP request of the site is left alone.
 *
 * Configuration, the same as the Gmail one-click plugin's (a constant wins over the setting):
 *   define( 'GMAIL_ONECLICK_SERVICE_URL', 'https://mail.example.com' );
 *   define( 'GMAIL_ONECLICK_API_KEY', 'goc_...' );
 * in wp-config.php, or the service URL and API key saved on Settings → Gmail one-click.
 *
 * @package GmailOneClick
 */

namespace GmailOneClick\PostSmtpBridge;

use WP_Error;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

const RELAY_HOST = 'connect.postmansmtp.com';
const RELAY_PATH = '/wp-json/gmail-oauth/v1/send-email';
const OPTION     = 'gmail_oneclick_settings';

/*
 * Late priority: whatever an earlier filter decided is respected (a non-false $preempt is
 * returned untouched), and a later, careless filter that returns false without looking at
 * $preempt is rarer than an early one. Our own request to the service passes through this
 * filter too; its URL is not the relay's, so it is left alone.
 */
const PRIORITY = 1000;

add_filter( 'pre_http_request', __NAMESPACE__ . '\\redirect_relay_request', PRIORITY, 3 );

/**
 * The `pre_http_request` filter.
 *
 * @param false|array|WP_Error $preempt     What earlier filters decided (false: nothing yet).
 * @param array                $parsed_args The request's arguments.
 * @param string               $url         The request's URL.
 * @return false|array|WP_Error $preempt for every request but Post SMTP's relay send; for that
 *                              one, the service's answer or a WP_Error saying why not.
 */
function redirect_relay_request( $preempt, $parsed_args, $url ) {
	if ( false !== $preempt || ! is_array( $parsed_args ) || ! is_relay_send( $url, $parsed_args ) ) {
		return $preempt;
	}
	$config = configuration();
	if ( is_wp_error( $config ) ) {
		/*
		 * Refuse rather than return false: false would let WordPress send the message, with
		 * its recipients and content, to the old relay the site is moving away from. Post SMTP
		 * shows this WP_Error's message in its log, so the admin learns what is missing.
		 */
		return $config;
	}
	return forward( $config['service_url'] . RELAY_PATH, $config['api_key'], $parsed_args );
}

/**
 * Whether this is Post SMTP's send: POST to https://connect.postmansmtp.com with exactly the
 * relay's path (port 443, if named). Only that request carries a message; anything else to
 * that host (a GET, another path) is not ours to touch.
 *
 * @param mixed $url         The request's URL.
 * @param array $parsed_args The request's arguments.
 */
function is_relay_send( $url, array $parsed_args ): bool {
	if ( ! is_string( $url ) || 'POST' !== strtoupper( (string) ( $parsed_args['method'] ?? '' ) ) ) {
		return false;
	}
	$parts = wp_parse_url( $url );
	if ( ! is_array( $parts ) ) {
		return false;
	}
	$scheme = strtolower( $parts['scheme'] ?? '' );
	$host   = rtrim( strtolower( $parts['host'] ?? '' ), '.' );
	$port   = $parts['port'] ?? 443;
	return 'https' === $scheme && RELAY_HOST === $host && 443 === (int) $port
		&& RELAY_PATH === ( $parts['path'] ?? '' );
}

/**
 * The service URL (no trailing slash) and API key: each from its wp-config.php constant when
 * defined, else from the Gmail one-click plugin's saved settings.
 *
 * @return array{service_url: string, api_key: string}|WP_Error
 */
function configuration() {
	$saved       = get_option( OPTION, array() );
	$saved       = is_array( $saved ) ? $saved : array();
	$service_url = defined( 'GMAIL_ONECLICK_SERVICE_URL' ) ? GMAIL_ONECLICK_SERVICE_URL : ( $saved['service_url'] ?? '' );
	$api_key     = defined( 'GMAIL_ONECLICK_API_KEY' ) ? GMAIL_ONECLICK_API_KEY : ( $saved['api_key'] ?? '' );
	$service_url = is_string( $service_url ) ? untrailingslashit( trim( $service_url ) ) : '';
	$api_key     = is_string( $api_key ) ? trim( $api_key ) : '';
	if ( '' === $service_url || '' === $api_key ) {
		return new WP_Error(
			'gmail_oneclick_not_configured',
			__( 'Gmail one-click bridge: the message was not sent. The service URL or the API key is missing: define GMAIL_ONECLICK_SERVICE_URL and GMAIL_ONECLICK_API_KEY in wp-config.php (or save them on Settings → Gmail one-click). Until then nothing is sent, so no message goes to the old Post SMTP relay.', 'gmail-oneclick' )
		);
	}
	if ( ! is_safe_service_url( $service_url ) ) {
		return new WP_Error(
			'gmail_oneclick_insecure_url',
			__( 'Gmail one-click bridge: the message was not sent. The service URL must start with https:// (http:// is accepted only for this computer, e.g. http://127.0.0.1), so that the API key and the message are never sent unencrypted.', 'gmail-oneclick' )
		);
	}
	return array(
		'service_url' => $service_url,
		'api_key'     => $api_key,
	);
}

/**
 * Whether the key may travel to this URL: https, or http to a loopback address only (the
 * same rule the service applies to the URLs it is given).
 *
 * @param string $url The service URL.
 */
function is_safe_service_url( string $url ): bool {
	$parts  = wp_parse_url( $url );
	$scheme = strtolower( is_array( $parts ) ? ( $parts['scheme'] ?? '' ) : '' );
	$host   = strtolower( trim( is_array( $parts ) ? ( $parts['host'] ?? '' ) : '', '[]' ) );
	if ( '' === $host ) {
		return false;
	}
	if ( 'https' === $scheme ) {
		return true;
	}
	$loopback = 'localhost' === $host || '::1' === $host
		|| ( false !== filter_var( $host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4 ) && str_starts_with( $host, '127.' ) );
	return 'http' === $scheme && $loopback;
}

/**
 * Send Post SMTP's request to the service: same body, same content type, the bearer key.
 *
 * @param string $target      The service's compatible route.
 * @param string $api_key     The site's API key.
 * @param array  $parsed_args The relay request's arguments.
 * @return array|WP_Error The service's response when it sent the message (Post SMTP reads
 *                        its "data"), else a WP_Error carrying the service's reason.
 */
function forward( string $target, string $api_key, array $parsed_args ) {
	$response = wp_remote_request(
		$target,
		array(
			'method'      => 'POST',
			'body'        => $parsed_args['body'] ?? null,
			'headers'     => array(
				'Content-Type'  => content_type( $parsed_args['headers'] ?? array() ),
				'Authorization' => 'Bearer ' . $api_key,
			),
			'timeout'     => $parsed_args['timeout'] ?? 30,
			'sslverify'   => $parsed_args['sslverify'] ?? true,
			// A redirect would carry the bearer key and the message somewhere else: never follow.
			'redirection' => 0,
		)
	);
	if ( is_wp_error( $response ) && str_contains( $response->get_error_message(), 'cURL error 28' ) ) {
		return new WP_Error(
			'delivery_unknown',
			/* translators: %s: the HTTP client's error message. */
			sprintf( __( 'Gmail one-click bridge: the service did not answer in time (%s). The message may have been sent: check the Sent folder before sending it again.', 'gmail-oneclick' ), $response->get_error_message() )
		);
	}
	if ( is_wp_error( $response ) ) {
		return new WP_Error(
			'gmail_oneclick_unreachable',
			/* translators: %s: the HTTP client's error message. */
			sprintf( __( 'Gmail one-click bridge: the service could not be reached (%s). The message was not sent.', 'gmail-oneclick' ), $response->get_error_message() )
		);
	}
	$status = (int) wp_remote_retrieve_response_code( $response );
	return ( $status >= 200 && $status < 300 ) ? $response : service_error( $status, $response );
}

/**
 * The relay request's content type (Post SMTP sends application/json), whether its headers
 * came as an array (any case) or as one raw string.
 *
 * @param array|string $headers The relay request's headers.
 */
function content_type( $headers ): string {
	if ( is_string( $headers ) ) {
		$headers = \WP_Http::processHeaders( $headers )['headers'];
	}
	foreach ( (array) $headers as $name => $value ) {
		if ( 'content-type' === strtolower( (string) $name ) ) {
			return is_array( $value ) ? (string) reset( $value ) : (string) $value;
		}
	}
	return 'application/json';
}

/**
 * A refusal by the service as a WP_Error whose code is the service's stable error code.
 *
 * Why not hand Post SMTP the error response itself: Post SMTP 3.x logs only the HTTP status of
 * a non-200 answer and drops its body, so the admin would read "HTTP Code: 409" and never
 * "Gmail access was removed, connect again". A WP_Error's message is what it logs in full.
 *
 * @param int   $status   The HTTP status.
 * @param array $response The service's response.
 */
function service_error( int $status, array $response ): WP_Error {
	$body    = json_decode( (string) wp_remote_retrieve_body( $response ), true );
	$code    = is_array( $body ) && is_string( $body['code'] ?? null ) ? $body['code'] : 'http_' . $status;
	$message = is_array( $body ) && is_string( $body['message'] ?? null ) ? $body['message'] : '';
	if ( '' === $message ) {
		$message = __( 'the service gave no reason', 'gmail-oneclick' );
	}
	/* translators: 1: the service's explanation, 2: its error code, 3: the HTTP status. */
	$text = __( 'Gmail one-click: the message was not sent: %1$s (%2$s, HTTP %3$d).', 'gmail-oneclick' );
	if ( 'delivery_unknown' === $code ) {
		/* translators: 1: the service's explanation, 2: its error code, 3: the HTTP status. */
		$text = __( 'Gmail one-click: the message may have been sent: %1$s (%2$s, HTTP %3$d).', 'gmail-oneclick' );
	}
	return new WP_Error( $code, sprintf( $text, $message, $code, $status ), array( 'status' => $status ) );
}
