<?php
/**
 * The service's /v1 API over wp_remote_request().
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Every call returns the decoded answer or a WP_Error whose code is the service's stable error
 * code (`unauthorized`, `reconnect_required`, ...), `http_request_failed` when the service
 * could not be reached, or `gmail_oneclick_not_configured`. The error data carries `status`
 * and `retry_after` (seconds) when known. Nothing here logs or returns the key.
 */
final class Gmail_OneClick_Client {

	public const TIMEOUT      = 15;
	public const SEND_TIMEOUT = 30;

	private string $base;
	private string $key;

	public function __construct( ?string $base = null, ?string $key = null ) {
		$this->base = $base ?? Gmail_OneClick_Settings::service_url();
		$this->key  = $key ?? Gmail_OneClick_Settings::api_key();
	}

	public function configured(): bool {
		return '' !== $this->base && '' !== $this->key;
	}

	/** @return array<string, mixed>|WP_Error `{"connect_url", "expires_at"}` */
	public function create_connection( string $return_url, string $login_hint = '' ) {
		$body = array( 'return_url' => $return_url );
		if ( '' !== $login_hint ) {
			$body['login_hint'] = $login_hint;
		}
		return $this->json( 'POST', '/v1/connections', $body, 201 );
	}

	/** @return array<int, array<string, mixed>>|WP_Error */
	public function list_connections() {
		$answer = $this->json( 'GET', '/v1/connections', null, 200 );
		if ( is_wp_error( $answer ) ) {
			return $answer;
		}
		if ( ! isset( $answer['connections'] ) || ! is_array( $answer['connections'] ) ) {
			return new WP_Error( 'unexpected_response', __( 'The service answered with something that is not a list of connections.', 'gmail-oneclick' ), array( 'status' => 200 ) );
		}
		return array_values( array_filter( $answer['connections'], array( self::class, 'looks_like_connection' ) ) );
	}

	/** @return true|WP_Error A connection already gone (404) counts as deleted. */
	public function delete_connection( string $id ) {
		$response = $this->request( 'DELETE', '/v1/connections/' . rawurlencode( $id ), null, array(), self::TIMEOUT );
		if ( is_wp_error( $response ) ) {
			return $response;
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		if ( 204 === $status || 200 === $status || 404 === $status ) {
			return true;
		}
		return self::error_from( $response );
	}

	/**
	 * Sends a complete RFC 5322 message.
	 *
	 * @return array<string, mixed>|WP_Error `{"id", "thread_id", "connection_id"}`
	 */
	public function send_message( string $mime, string $connection_id, string $idempotency_key ) {
		$path = '/v1/messages';
		if ( '' !== $connection_id ) {
			$path .= '?connection_id=' . rawurlencode( $connection_id );
		}
		$headers  = array(
			'Content-Type'    => 'message/rfc822',
			'Idempotency-Key' => $idempotency_key,
		);
		$response = $this->request( 'POST', $path, $mime, $headers, self::SEND_TIMEOUT );
		if ( is_wp_error( $response ) && self::timed_out( $response ) ) {
			// The message went out and no answer came back: the service may have sent it.
			return new WP_Error( 'delivery_unknown', $response->get_error_message(), array( 'status' => 0 ) );
		}
		if ( is_wp_error( $response ) ) {
			return $response;
		}
		if ( 200 !== (int) wp_remote_retrieve_response_code( $response ) ) {
			return self::error_from( $response );
		}
		$answer = json_decode( wp_remote_retrieve_body( $response ), true );
		if ( ! is_array( $answer ) || ! isset( $answer['id'] ) || ! is_string( $answer['id'] ) ) {
			return new WP_Error( 'unexpected_response', __( 'The service accepted the message but its answer could not be read.', 'gmail-oneclick' ), array( 'status' => 200 ) );
		}
		return $answer;
	}

	/**
	 * @param array<string, mixed>|null $body
	 * @return array<string, mixed>|WP_Error
	 */
	private function json( string $method, string $path, ?array $body, int $expected ) {
		$headers  = null === $body ? array() : array( 'Content-Type' => 'application/json' );
		$payload  = null === $body ? null : (string) wp_json_encode( $body );
		$response = $this->request( $method, $path, $payload, $headers, self::TIMEOUT );
		if ( is_wp_error( $response ) ) {
			return $response;
		}
		if ( (int) wp_remote_retrieve_response_code( $response ) !== $expected ) {
			return self::error_from( $response );
		}
		$answer = json_decode( wp_remote_retrieve_body( $response ), true );
		if ( ! is_array( $answer ) ) {
			return new WP_Error( 'unexpected_response', __( 'The service answered with something that is not JSON.', 'gmail-oneclick' ), array( 'status' => $expected ) );
		}
		return $answer;
	}

	/**
	 * @param array<string, string> $headers
	 * @return array<string, mixed>|WP_Error
	 */
	private function request( string $method, string $path, ?string $body, array $headers, int $timeout ) {
		if ( ! $this->configured() ) {
			return new WP_Error( 'gmail_oneclick_not_configured', __( 'Gmail one-click is not set up: the service URL or the API key is missing.', 'gmail-oneclick' ) );
		}
		$args = array(
			'method'      => $method,
			'timeout'     => $timeout,
			// A redirect would carry the bearer key to wherever it points.
			'redirection' => 0,
			'headers'     => array_merge(
				array(
					'Authorization' => 'Bearer ' . $this->key,
					'Accept'        => 'application/json',
				),
				$headers
			),
		);
		if ( null !== $body ) {
			$args['body'] = $body;
		}
		$response = wp_remote_request( $this->base . $path, $args );
		if ( is_wp_error( $response ) ) {
			return new WP_Error( 'http_request_failed', $response->get_error_message(), array( 'status' => 0 ) );
		}
		return $response;
	}

	/** A WP_Error from the service's `{"error": {"code", "message"}}` answer. */
	private static function error_from( array $response ): WP_Error {
		$status = (int) wp_remote_retrieve_response_code( $response );
		$answer = json_decode( wp_remote_retrieve_body( $response ), true );
		$code   = '';
		$text   = '';
		if ( is_array( $answer ) && isset( $answer['error'] ) && is_array( $answer['error'] ) ) {
			$code = is_string( $answer['error']['code'] ?? null ) ? sanitize_key( $answer['error']['code'] ) : '';
			$text = is_string( $answer['error']['message'] ?? null ) ? $answer['error']['message'] : '';
		}
		if ( '' === $code ) {
			// Not the service speaking (a proxy's error page, say): name it by its status.
			$code = $status >= 500 ? 'upstream_unavailable' : 'unexpected_response';
			/* translators: %d: HTTP status code */
			$text = sprintf( __( 'The service answered HTTP %d.', 'gmail-oneclick' ), $status );
		}
		$retry = wp_remote_retrieve_header( $response, 'retry-after' );
		$data  = array( 'status' => $status );
		if ( is_string( $retry ) && ctype_digit( $retry ) ) {
			$data['retry_after'] = (int) $retry;
		}
		return new WP_Error( $code, $text, $data );
	}

	/** Whether a transport error is a timeout (cURL error 28), after which a request may have been read. */
	private static function timed_out( WP_Error $error ): bool {
		$text = $error->get_error_message();
		return str_contains( $text, 'cURL error 28' ) || false !== stripos( $text, 'timed out' );
	}

	private static function looks_like_connection( mixed $item ): bool {
		return is_array( $item ) && isset( $item['id'], $item['email'], $item['status'] )
			&& is_string( $item['id'] ) && is_string( $item['email'] ) && is_string( $item['status'] );
	}
}
