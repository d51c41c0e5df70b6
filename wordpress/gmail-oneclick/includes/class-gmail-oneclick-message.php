<?php
/**
 * Builds a message with WordPress's own PHPMailer, step for step as wp_mail() does.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Follows wp_mail() in wp-includes/pluggable.php (WordPress 6.1): the same header parsing,
 * the same filters (wp_mail_from, wp_mail_from_name, wp_mail_content_type, wp_mail_charset)
 * and the phpmailer_init action, so a message is the one WordPress would have sent and other
 * plugins' hooks still apply. Attachments may be keyed by the name to show, as in later
 * WordPress versions.
 */
final class Gmail_OneClick_Message {

	/** @var array{to: string[], subject: string, message: string, headers: array<string, string>, attachments: array<int|string, string>} */
	public array $mail_data;

	/**
	 * Fills the global PHPMailer from wp_mail()'s filtered arguments and runs phpmailer_init.
	 *
	 * @param array<string, mixed> $atts `to`, `subject`, `message`, `headers`, `attachments`.
	 * @throws \PHPMailer\PHPMailer\Exception When the From address is refused, as wp_mail() reports it.
	 */
	public function build( array $atts ): \PHPMailer\PHPMailer\PHPMailer {
		$to          = $atts['to'] ?? array();
		$to          = is_array( $to ) ? $to : explode( ',', (string) $to );
		$subject     = (string) ( $atts['subject'] ?? '' );
		$message     = (string) ( $atts['message'] ?? '' );
		$attachments = $atts['attachments'] ?? array();
		$attachments = is_array( $attachments ) ? $attachments : explode( "\n", str_replace( "\r\n", "\n", (string) $attachments ) );
		$parsed      = self::parse_headers( $atts['headers'] ?? '' );
		$headers     = $parsed['headers'];

		$this->mail_data = compact( 'to', 'subject', 'message', 'headers', 'attachments' );
		$phpmailer       = self::mailer();
		$phpmailer->clearAllRecipients();
		$phpmailer->clearAttachments();
		$phpmailer->clearCustomHeaders();
		$phpmailer->clearReplyTos();
		$phpmailer->Body    = '';
		$phpmailer->AltBody = '';

		$from_name  = $parsed['from_name'] ?? 'WordPress';
		$from_email = $parsed['from_email'] ?? self::default_from();
		$from_email = apply_filters( 'wp_mail_from', $from_email );
		$from_name  = apply_filters( 'wp_mail_from_name', $from_name );
		$phpmailer->setFrom( $from_email, $from_name, false );

		$phpmailer->Subject = $subject;
		$phpmailer->Body    = $message;
		self::add_addresses( $phpmailer, $to, $parsed['cc'], $parsed['bcc'], $parsed['reply_to'] );
		$phpmailer->isMail();

		$content_type           = apply_filters( 'wp_mail_content_type', $parsed['content_type'] ?? 'text/plain' );
		$phpmailer->ContentType = $content_type;
		if ( 'text/html' === $content_type ) {
			$phpmailer->isHTML( true );
		}
		$phpmailer->CharSet = apply_filters( 'wp_mail_charset', $parsed['charset'] ?? get_bloginfo( 'charset' ) );

		self::add_custom_headers( $phpmailer, $headers, (string) $content_type, $parsed['boundary'] ?? '' );
		self::add_attachments( $phpmailer, $attachments );

		do_action_ref_array( 'phpmailer_init', array( &$phpmailer ) );
		return $phpmailer;
	}

	/** The global PHPMailer, (re)created as wp_mail() does when it has gone missing. */
	private static function mailer(): \PHPMailer\PHPMailer\PHPMailer {
		global $phpmailer;
		if ( ! ( $phpmailer instanceof \PHPMailer\PHPMailer\PHPMailer ) ) {
			require_once ABSPATH . WPINC . '/PHPMailer/PHPMailer.php';
			require_once ABSPATH . WPINC . '/PHPMailer/SMTP.php';
			require_once ABSPATH . WPINC . '/PHPMailer/Exception.php';
			$phpmailer = new \PHPMailer\PHPMailer\PHPMailer( true );

			$phpmailer::$validator = static function ( $email ) {
				return (bool) is_email( $email );
			};
		}
		return $phpmailer;
	}

	/** wordpress@ the site's domain without www., as wp_mail() defaults it. */
	private static function default_from(): string {
		$sitename   = wp_parse_url( network_home_url(), PHP_URL_HOST );
		$from_email = 'wordpress@';
		if ( null !== $sitename ) {
			if ( 'www.' === substr( $sitename, 0, 4 ) ) {
				$sitename = substr( $sitename, 4 );
			}
			$from_email .= $sitename;
		}
		return $from_email;
	}

	/**
	 * wp_mail()'s header parsing: From, Content-Type (charset or boundary), Cc, Bcc and
	 * Reply-To are taken out; every other header is kept by name.
	 *
	 * @param string|string[] $headers
	 * @return array<string, mixed>
	 */
	public static function parse_headers( $headers ): array {
		$out = array(
			'cc'       => array(),
			'bcc'      => array(),
			'reply_to' => array(),
			'headers'  => array(),
		);
		if ( empty( $headers ) ) {
			return $out;
		}
		$lines = is_array( $headers ) ? $headers : explode( "\n", str_replace( "\r\n", "\n", (string) $headers ) );
		foreach ( $lines as $header ) {
			$header = (string) $header;
			if ( strpos( $header, ':' ) === false ) {
				if ( false !== stripos( $header, 'boundary=' ) ) {
					$parts           = preg_split( '/boundary=/i', trim( $header ) );
					$out['boundary'] = trim( str_replace( array( "'", '"' ), '', $parts[1] ) );
				}
				continue;
			}
			list( $name, $content ) = explode( ':', trim( $header ), 2 );
			$name                   = trim( $name );
			$content                = trim( $content );
			self::parse_header( $out, $name, $content );
		}
		return $out;
	}

	/** @param array<string, mixed> $out */
	private static function parse_header( array &$out, string $name, string $content ): void {
		switch ( strtolower( $name ) ) {
			case 'from':
				$bracket_pos = strpos( $content, '<' );
				if ( false !== $bracket_pos ) {
					if ( $bracket_pos > 0 ) {
						$out['from_name'] = trim( str_replace( '"', '', substr( $content, 0, $bracket_pos ) ) );
					}
					$out['from_email'] = trim( str_replace( '>', '', substr( $content, $bracket_pos + 1 ) ) );
				} elseif ( '' !== trim( $content ) ) {
					$out['from_email'] = trim( $content );
				}
				break;
			case 'content-type':
				if ( strpos( $content, ';' ) !== false ) {
					list( $type, $charset_content ) = explode( ';', $content );
					$out['content_type']            = trim( $type );
					if ( false !== stripos( $charset_content, 'charset=' ) ) {
						$out['charset'] = trim( str_replace( array( 'charset=', '"' ), '', $charset_content ) );
					} elseif ( false !== stripos( $charset_content, 'boundary=' ) ) {
						$out['boundary'] = trim( str_replace( array( 'BOUNDARY=', 'boundary=', '"' ), '', $charset_content ) );
						$out['charset']  = '';
					}
				} elseif ( '' !== trim( $content ) ) {
					$out['content_type'] = trim( $content );
				}
				break;
			case 'cc':
				$out['cc'] = array_merge( $out['cc'], explode( ',', $content ) );
				break;
			case 'bcc':
				$out['bcc'] = array_merge( $out['bcc'], explode( ',', $content ) );
				break;
			case 'reply-to':
				$out['reply_to'] = array_merge( $out['reply_to'], explode( ',', $content ) );
				break;
			default:
				$out['headers'][ trim( $name ) ] = trim( $content );
				break;
		}
	}

	/**
	 * @param array<int, string> $to
	 * @param array<int, string> $cc
	 * @param array<int, string> $bcc
	 * @param array<int, string> $reply_to
	 */
	private static function add_addresses( \PHPMailer\PHPMailer\PHPMailer $phpmailer, array $to, array $cc, array $bcc, array $reply_to ): void {
		foreach ( compact( 'to', 'cc', 'bcc', 'reply_to' ) as $kind => $addresses ) {
			foreach ( $addresses as $address ) {
				$address = (string) $address;
				$name    = '';
				if ( preg_match( '/(.*)<(.+)>/', $address, $matches ) && count( $matches ) === 3 ) {
					$name    = $matches[1];
					$address = $matches[2];
				}
				try {
					match ( $kind ) {
						'to' => $phpmailer->addAddress( $address, $name ),
						'cc' => $phpmailer->addCc( $address, $name ),
						'bcc' => $phpmailer->addBcc( $address, $name ),
						'reply_to' => $phpmailer->addReplyTo( $address, $name ),
					};
				} catch ( \PHPMailer\PHPMailer\Exception $e ) {
					continue; // wp_mail() skips an address PHPMailer refuses.
				}
			}
		}
	}

	/** @param array<string, string> $headers */
	private static function add_custom_headers( \PHPMailer\PHPMailer\PHPMailer $phpmailer, array $headers, string $content_type, string $boundary ): void {
		if ( empty( $headers ) ) {
			return;
		}
		foreach ( $headers as $name => $content ) {
			if ( ! in_array( $name, array( 'MIME-Version', 'X-Mailer' ), true ) ) {
				try {
					$phpmailer->addCustomHeader( sprintf( '%1$s: %2$s', $name, $content ) );
				} catch ( \PHPMailer\PHPMailer\Exception $e ) {
					continue;
				}
			}
		}
		if ( false !== stripos( $content_type, 'multipart' ) && ! empty( $boundary ) ) {
			$phpmailer->addCustomHeader( sprintf( 'Content-Type: %s; boundary="%s"', $content_type, $boundary ) );
		}
	}

	/** @param array<int|string, string> $attachments Keys that are strings name the attachment. */
	private static function add_attachments( \PHPMailer\PHPMailer\PHPMailer $phpmailer, array $attachments ): void {
		foreach ( $attachments as $filename => $attachment ) {
			$filename = is_string( $filename ) ? $filename : '';
			try {
				$phpmailer->addAttachment( (string) $attachment, $filename );
			} catch ( \PHPMailer\PHPMailer\Exception $e ) {
				continue;
			}
		}
	}
}
