<?php
/**
 * Takes over wp_mail() through pre_wp_mail and sends through the service.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Every wp_mail() call either reaches Gmail (true, wp_mail_succeeded) or fails loudly (false,
 * wp_mail_failed with the service's error code): there is no silent fallback to PHP's mail().
 * Nothing logged here names a subject, an address or a body.
 */
final class Gmail_OneClick_Mailer {

	/** Set by the test email: send through this connection whatever the From says. */
	private static string $forced_connection = '';

	public static function register(): void {
		add_filter( 'pre_wp_mail', array( self::class, 'pre_wp_mail' ), 10, 2 );
	}

	/**
	 * @param null|bool            $short_circuit What an earlier filter decided, if anything.
	 * @param array<string, mixed> $atts          wp_mail()'s arguments after the wp_mail filter.
	 */
	public static function pre_wp_mail( $short_circuit, $atts ): ?bool {
		if ( null !== $short_circuit ) {
			return (bool) $short_circuit; // Another plugin already took this message.
		}
		return self::send( is_array( $atts ) ? $atts : array() );
	}

	/** Sends through one chosen connection (the test email). */
	public static function send_through( string $connection_id, array $atts ): bool {
		self::$forced_connection = $connection_id;
		try {
			return (bool) wp_mail( $atts['to'], $atts['subject'], $atts['message'], $atts['headers'] ?? '' );
		} finally {
			self::$forced_connection = '';
		}
	}

	/** @param array<string, mixed> $atts */
	private static function send( array $atts ): bool {
		$message = new Gmail_OneClick_Message();
		try {
			$phpmailer = $message->build( $atts );
			// After phpmailer_init, whatever a hook chose: "mail" makes preSend() write the
			// To and Subject lines too, so getSentMIMEMessage() is the whole message.
			$phpmailer->Mailer = 'mail';
			if ( ! $phpmailer->preSend() ) {
				throw new \PHPMailer\PHPMailer\Exception( $phpmailer->ErrorInfo );
			}
			$mime = $phpmailer->getSentMIMEMessage();
		} catch ( \PHPMailer\PHPMailer\Exception $e ) {
			$data                             = $message->mail_data ?? self::mail_data( $atts );
			$data['phpmailer_exception_code'] = $e->getCode();
			self::fail( new WP_Error( 'wp_mail_failed', $e->getMessage(), $data ), '', self::count_recipients( $atts ) );
			return false;
		}
		$recipients = count( $phpmailer->getToAddresses() ) + count( $phpmailer->getCcAddresses() ) + count( $phpmailer->getBccAddresses() );
		list( $connection_id, $account ) = self::route( $phpmailer->From );
		$client = new Gmail_OneClick_Client();
		$answer = $client->configured()
			? $client->send_message( $mime, $connection_id, wp_generate_uuid4() )
			: new WP_Error( 'gmail_oneclick_not_configured', '' );
		if ( is_wp_error( $answer ) ) {
			self::fail( self::readable( $answer, $account, $message->mail_data ), '' !== $connection_id ? $connection_id : $account, $recipients );
			return false;
		}
		$sent_by = is_string( $answer['connection_id'] ?? null ) ? $answer['connection_id'] : $connection_id;
		Gmail_OneClick_Store::log_send( $sent_by, $recipients, 'sent', (string) $answer['id'] );
		do_action( 'wp_mail_succeeded', $message->mail_data );
		return true;
	}

	/**
	 * Which connection sends: the test email's choice, else the one whose address is the From
	 * address, else the default chosen in the settings, else none (the service then picks the
	 * site's only connection).
	 *
	 * @return array{0: string, 1: string} Connection id and account address ('' when unknown).
	 */
	private static function route( string $from ): array {
		$list = Gmail_OneClick_Connections::cached();
		$list = is_wp_error( $list ) ? array() : $list;
		if ( '' !== self::$forced_connection ) {
			$chosen = Gmail_OneClick_Connections::by_id( $list, self::$forced_connection );
			return array( self::$forced_connection, null !== $chosen ? (string) $chosen['email'] : '' );
		}
		$chosen = Gmail_OneClick_Connections::by_email( $list, $from );
		if ( null === $chosen ) {
			$chosen = Gmail_OneClick_Connections::by_id( $list, Gmail_OneClick_Settings::default_connection() );
		}
		if ( null === $chosen && 1 === count( $list ) ) {
			$chosen = $list[0];
		}
		return null === $chosen ? array( '', '' ) : array( (string) $chosen['id'], (string) $chosen['email'] );
	}

	/**
	 * The service's error with a sentence an admin can act on; the code stays the service's.
	 *
	 * @param array<string, mixed> $mail_data
	 */
	private static function readable( WP_Error $error, string $account, array $mail_data ): WP_Error {
		$code   = (string) $error->get_error_code();
		$detail = $error->get_error_message();
		$extra  = $error->get_error_data();
		$data   = $mail_data;
		if ( is_array( $extra ) ) {
			$data['gmail_oneclick'] = $extra;
		}
		if ( 'reconnect_required' === $code || 'scope_missing' === $code ) {
			Gmail_OneClick_Connections::forget_cache(); // Its status changed at the service.
		}
		return new WP_Error( $code, Gmail_OneClick_Words::send_error( $code, $account, $detail ), $data );
	}

	private static function fail( WP_Error $error, string $account, int $recipients ): void {
		Gmail_OneClick_Store::log_send( $account, $recipients, 'failed', (string) $error->get_error_code() );
		// The code only: a message may quote an address.
		error_log( 'gmail-oneclick: wp_mail failed: ' . $error->get_error_code() ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
		do_action( 'wp_mail_failed', $error );
	}

	/**
	 * wp_mail()'s $mail_data when the message could not even be built.
	 *
	 * @param array<string, mixed> $atts
	 * @return array<string, mixed>
	 */
	private static function mail_data( array $atts ): array {
		return array(
			'to'          => $atts['to'] ?? array(),
			'subject'     => $atts['subject'] ?? '',
			'message'     => $atts['message'] ?? '',
			'headers'     => $atts['headers'] ?? array(),
			'attachments' => $atts['attachments'] ?? array(),
		);
	}

	/** @param array<string, mixed> $atts */
	private static function count_recipients( array $atts ): int {
		$to = $atts['to'] ?? array();
		$to = is_array( $to ) ? $to : explode( ',', (string) $to );
		return count( array_filter( array_map( 'trim', array_map( 'strval', $to ) ) ) );
	}
}
