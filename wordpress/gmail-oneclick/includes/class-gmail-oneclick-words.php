<?php
/**
 * Every code the service can answer, in plain words with the next step.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Codes are the meaning; these sentences are what an admin reads. A code never shows alone.
 */
final class Gmail_OneClick_Words {

	/** The sentence for a `gmail_oneclick=error&reason=...` return from the connect flow. */
	public static function connect_error( string $reason ): string {
		switch ( $reason ) {
			case 'access_denied':
				return __( 'Nothing was connected because the Google consent screen was cancelled. Click “Connect Gmail” again and choose Allow.', 'gmail-oneclick' );
			case 'scope_missing':
				return __( 'Nothing was connected because Google was not allowed to send email for that account (a permission box was unticked). Click “Connect Gmail” again and leave every box ticked.', 'gmail-oneclick' );
			case 'expired':
				return __( 'Nothing was connected because the connect link expired before consent was finished. Click “Connect Gmail” again and finish within a few minutes.', 'gmail-oneclick' );
			case 'upstream_error':
				return __( 'Nothing was connected because Google could not be reached to finish connecting. Wait a minute, then click “Connect Gmail” again.', 'gmail-oneclick' );
			default:
				return sprintf(
					/* translators: %s: a short error code reported by the service */
					__( 'Nothing was connected: the service reported a problem it did not explain (code “%s”). Click “Connect Gmail” again; if it keeps failing, ask whoever runs your Gmail one-click service.', 'gmail-oneclick' ),
					$reason
				);
		}
	}

	/** A connection's status in words. */
	public static function status( string $status ): string {
		if ( 'connected' === $status ) {
			return __( 'Connected', 'gmail-oneclick' );
		}
		if ( 'reconnect_required' === $status ) {
			return __( 'Access removed — reconnect', 'gmail-oneclick' );
		}
		return __( 'Unknown status', 'gmail-oneclick' );
	}

	/** Why access ended, as a phrase that fits in parentheses. */
	public static function revocation_reason( ?string $reason ): string {
		switch ( (string) $reason ) {
			case 'invalid_grant':
				return __( 'Google no longer accepts the permission: it was removed, expired or the password changed', 'gmail-oneclick' );
			case 'risc_tokens_revoked':
				return __( 'the account owner removed this site’s access in their Google Account', 'gmail-oneclick' );
			case 'risc_token_revoked':
				return __( 'Google revoked this site’s access', 'gmail-oneclick' );
			case 'risc_account_disabled':
				return __( 'Google disabled the account', 'gmail-oneclick' );
			case 'disconnected':
				return __( 'the connection was disconnected', 'gmail-oneclick' );
			case 'forgotten':
				return __( 'the account’s data was deleted at its owner’s request', 'gmail-oneclick' );
			default:
				return __( 'Google did not say why', 'gmail-oneclick' );
		}
	}

	/**
	 * Why a send failed, for wp_mail_failed and the test email result.
	 *
	 * @param string $code    The service's error code (or one of ours).
	 * @param string $account The sending account's email, or '' when unknown.
	 * @param string $detail  The service's own message (never holds message content).
	 */
	public static function send_error( string $code, string $account, string $detail ): string {
		$where   = Gmail_OneClick_Settings::page_url();
		$account = '' !== $account ? $account : __( 'the sending account', 'gmail-oneclick' );
		switch ( $code ) {
			case 'reconnect_required':
				/* translators: 1: Gmail address, 2: URL of the settings screen */
				return sprintf( __( 'Gmail access was removed for %1$s. Reconnect it in Settings → Gmail one-click: %2$s', 'gmail-oneclick' ), $account, $where );
			case 'scope_missing':
				/* translators: 1: Gmail address, 2: URL of the settings screen */
				return sprintf( __( 'Gmail did not allow %1$s to send email for this site. Reconnect it in Settings → Gmail one-click and leave every permission box ticked: %2$s', 'gmail-oneclick' ), $account, $where );
			case 'unauthorized':
				/* translators: %s: URL of the settings screen */
				return sprintf( __( 'The Gmail one-click service refused this site’s API key. Enter the current key in Settings → Gmail one-click: %s', 'gmail-oneclick' ), $where );
			case 'gmail_oneclick_not_configured':
				/* translators: %s: URL of the settings screen */
				return sprintf( __( 'Mail was not sent because Gmail one-click is not set up yet. Enter the service URL and API key in Settings → Gmail one-click: %s', 'gmail-oneclick' ), $where );
			case 'http_request_failed':
				/* translators: 1: the network error, 2: URL of the settings screen */
				return sprintf( __( 'Mail was not sent because the Gmail one-click service could not be reached (%1$s). Check that it is running and that the service URL in Settings → Gmail one-click is right: %2$s', 'gmail-oneclick' ), $detail, $where );
			case 'delivery_unknown':
				/* translators: %s: Gmail address */
				return sprintf( __( 'The message may have been sent: the answer from Gmail was lost on the way. Look in the Sent folder of %s before sending it again.', 'gmail-oneclick' ), $account );
			case 'rate_limited':
				/* translators: %s: Gmail address */
				return sprintf( __( 'Gmail is limiting how much %s may send right now, so the message was not sent. Try again later.', 'gmail-oneclick' ), $account );
			case 'upstream_unavailable':
				return __( 'Gmail or the Gmail one-click service is unavailable right now, so the message was not sent. Try again in a few minutes.', 'gmail-oneclick' );
			case 'connection_required':
			case 'not_found':
				/* translators: %s: URL of the settings screen */
				return sprintf( __( 'No connected Gmail account could send this message: its From address matches none and no default account is chosen. Choose one in Settings → Gmail one-click: %s', 'gmail-oneclick' ), $where );
			case 'mail_service_not_enabled':
				/* translators: %s: Gmail address */
				return sprintf( __( 'The Google account %s has no Gmail, so it cannot send. Connect an account that uses Gmail.', 'gmail-oneclick' ), $account );
			case 'gmail_permission_denied':
				/* translators: %s: Gmail address */
				return sprintf( __( 'A Google Workspace policy does not let %s send through the Gmail API. Ask your Workspace administrator, or connect another account.', 'gmail-oneclick' ), $account );
			default:
				/* translators: 1: the service's explanation, 2: a short error code */
				return sprintf( __( 'The Gmail one-click service did not send the message: %1$s (code “%2$s”).', 'gmail-oneclick' ), '' !== $detail ? $detail : __( 'no reason given', 'gmail-oneclick' ), $code );
		}
	}

	/** Why the list of connections could not be read, with what to do. */
	public static function service_error( WP_Error $error ): string {
		$code = (string) $error->get_error_code();
		switch ( $code ) {
			case 'gmail_oneclick_not_configured':
				return __( 'Enter the service URL and the site API key below (or define them in wp-config.php), then save.', 'gmail-oneclick' );
			case 'unauthorized':
				return __( 'The service refused this site’s API key. Check the key below (or GMAIL_ONECLICK_API_KEY in wp-config.php) and save again.', 'gmail-oneclick' );
			case 'http_request_failed':
				/* translators: %s: the network error */
				return sprintf( __( 'The Gmail one-click service could not be reached (%s). Check the service URL below and that the service is running, then reload this page.', 'gmail-oneclick' ), $error->get_error_message() );
			case 'upstream_unavailable':
				return __( 'The Gmail one-click service is having trouble right now. Reload this page in a minute; if it lasts, tell whoever runs the service.', 'gmail-oneclick' );
			default:
				/* translators: 1: the service's explanation, 2: a short error code */
				return sprintf( __( 'The Gmail one-click service refused the request: %1$s (code “%2$s”). Check the settings below.', 'gmail-oneclick' ), $error->get_error_message(), $code );
		}
	}
}
