<?php
/**
 * The plugin's two tables: the send log (no content) and the webhook ids already seen.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The send log holds, per wp_mail() call, its time, the sending account (connection id or the
 * account's own address, never a recipient), the recipient count, the outcome and the Gmail id
 * or error code: never a subject, a recipient address or a body.
 */
final class Gmail_OneClick_Store {

	public const KEEP_ROWS = 200;
	/** Longer than the 5 minutes either way a webhook timestamp may differ from our clock. */
	public const WEBHOOK_ID_SECONDS = 3600;

	public static function log_table(): string {
		global $wpdb;
		return $wpdb->prefix . 'gmail_oneclick_log';
	}

	public static function webhook_table(): string {
		global $wpdb;
		return $wpdb->prefix . 'gmail_oneclick_webhook_ids';
	}

	/** Activation: create or upgrade both tables. */
	public static function install(): void {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$charset = $wpdb->get_charset_collate();
		$log     = self::log_table();
		$ids     = self::webhook_table();
		// dbDelta's own format: two spaces after PRIMARY KEY, one field per line.
		dbDelta(
			"CREATE TABLE {$log} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  sent_at datetime NOT NULL,
  account varchar(191) NOT NULL DEFAULT '',
  recipients smallint(5) unsigned NOT NULL DEFAULT 0,
  outcome varchar(20) NOT NULL,
  result varchar(191) NOT NULL DEFAULT '',
  PRIMARY KEY  (id)
) {$charset};
CREATE TABLE {$ids} (
  webhook_id varchar(191) NOT NULL,
  seen_at datetime NOT NULL,
  PRIMARY KEY  (webhook_id),
  KEY seen_at (seen_at)
) {$charset};"
		);
	}

	/**
	 * One send. `$outcome` is `sent` or `failed`; `$result` the Gmail id or the error code.
	 */
	public static function log_send( string $account, int $recipients, string $outcome, string $result ): void {
		global $wpdb;
		$table = self::log_table();
		$row   = array(
			'sent_at'    => gmdate( 'Y-m-d H:i:s' ),
			'account'    => substr( $account, 0, 191 ),
			'recipients' => max( 0, min( 65535, $recipients ) ),
			'outcome'    => $outcome,
			'result'     => substr( $result, 0, 191 ),
		);
		$suppress = $wpdb->suppress_errors( true );
		$inserted = $wpdb->insert( $table, $row, array( '%s', '%s', '%d', '%s', '%s' ) );
		if ( false === $inserted ) {
			// The tables are missing when the plugin was copied in without activation.
			self::install();
			$inserted = $wpdb->insert( $table, $row, array( '%s', '%s', '%d', '%s', '%s' ) );
		}
		$wpdb->suppress_errors( $suppress );
		if ( false !== $inserted ) {
			$wpdb->query( $wpdb->prepare( "DELETE FROM {$table} WHERE id <= %d", (int) $wpdb->insert_id - self::KEEP_ROWS ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		}
	}

	/** @return array<int, array<string, string>> Newest first. */
	public static function recent_sends( int $limit = self::KEEP_ROWS ): array {
		global $wpdb;
		$table    = self::log_table();
		$suppress = $wpdb->suppress_errors( true );
		$rows     = $wpdb->get_results( $wpdb->prepare( "SELECT sent_at, account, recipients, outcome, result FROM {$table} ORDER BY id DESC LIMIT %d", $limit ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$wpdb->suppress_errors( $suppress );
		return is_array( $rows ) ? $rows : array();
	}

	/**
	 * Records a webhook id; false when it was recorded before (a replay). The primary key makes
	 * this one atomic statement, so two concurrent deliveries cannot both pass.
	 *
	 * @return bool|null Null when the table cannot be written.
	 */
	public static function remember_webhook_id( string $id ): ?bool {
		global $wpdb;
		$table    = self::webhook_table();
		$sql      = $wpdb->prepare( "INSERT IGNORE INTO {$table} (webhook_id, seen_at) VALUES (%s, %s)", $id, gmdate( 'Y-m-d H:i:s' ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$suppress = $wpdb->suppress_errors( true );
		$rows     = $wpdb->query( $sql ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		if ( false === $rows ) {
			self::install();
			$rows = $wpdb->query( $sql ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		}
		$wpdb->suppress_errors( $suppress );
		if ( false === $rows ) {
			return null;
		}
		$wpdb->query( $wpdb->prepare( "DELETE FROM {$table} WHERE seen_at < %s", gmdate( 'Y-m-d H:i:s', time() - self::WEBHOOK_ID_SECONDS ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return 1 === (int) $rows;
	}

	/** Uninstall: both tables go. */
	public static function drop(): void {
		global $wpdb;
		$wpdb->query( 'DROP TABLE IF EXISTS ' . self::log_table() ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		$wpdb->query( 'DROP TABLE IF EXISTS ' . self::webhook_table() ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
	}
}
