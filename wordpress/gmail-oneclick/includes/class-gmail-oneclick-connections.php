<?php
/**
 * The site's connections: a short-lived cache of the service's list, and the revoked ones.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * wp_mail() needs the list to route by From address; caching it for a few minutes keeps a
 * GET /v1/connections off every send. Connect, disconnect, webhooks and a new key clear it.
 */
final class Gmail_OneClick_Connections {

	public const CACHE         = 'gmail_oneclick_connections';
	public const CACHE_SECONDS = 300;
	public const REVOKED       = 'gmail_oneclick_revoked';
	/** Ids disconnected from this site: the service keeps listing them as revoked. */
	public const REMOVED     = 'gmail_oneclick_removed';
	public const MAX_REMOVED = 200;

	/**
	 * The list, from the cache when fresh.
	 *
	 * @return array<int, array<string, mixed>>|WP_Error
	 */
	public static function cached() {
		$cached = get_transient( self::CACHE );
		if ( is_array( $cached ) ) {
			return $cached;
		}
		return self::fresh();
	}

	/**
	 * The list from the service, without the connections disconnected here, stored in the
	 * cache and reconciled with the revoked set.
	 *
	 * @return array<int, array<string, mixed>>|WP_Error
	 */
	public static function fresh() {
		$list = ( new Gmail_OneClick_Client() )->list_connections();
		if ( is_wp_error( $list ) ) {
			return $list;
		}
		$removed = self::removed();
		$list    = array_values(
			array_filter(
				$list,
				static fn( array $c ): bool => 'connected' === $c['status'] || ! in_array( $c['id'], $removed, true )
			)
		);
		set_transient( self::CACHE, $list, self::CACHE_SECONDS );
		self::reconcile( $list );
		return $list;
	}

	public static function forget_cache(): void {
		delete_transient( self::CACHE );
	}

	/**
	 * The connection whose email is `$email` (case-insensitive), if any.
	 *
	 * @param array<int, array<string, mixed>> $list
	 * @return array<string, mixed>|null
	 */
	public static function by_email( array $list, string $email ): ?array {
		$email = strtolower( trim( $email ) );
		foreach ( $list as $connection ) {
			if ( '' !== $email && strtolower( (string) $connection['email'] ) === $email ) {
				return $connection;
			}
		}
		return null;
	}

	/**
	 * @param array<int, array<string, mixed>> $list
	 * @return array<string, mixed>|null
	 */
	public static function by_id( array $list, string $id ): ?array {
		foreach ( $list as $connection ) {
			if ( '' !== $id && $connection['id'] === $id ) {
				return $connection;
			}
		}
		return null;
	}

	/** @return array<string, array{email: string, reason: string, at: int}> */
	public static function revoked(): array {
		$revoked = get_option( self::REVOKED, array() );
		if ( ! is_array( $revoked ) ) {
			return array();
		}
		$clean = array();
		foreach ( $revoked as $id => $entry ) {
			if ( is_string( $id ) && is_array( $entry ) ) {
				$clean[ $id ] = array(
					'email'  => (string) ( $entry['email'] ?? '' ),
					'reason' => (string) ( $entry['reason'] ?? '' ),
					'at'     => (int) ( $entry['at'] ?? 0 ),
				);
			}
		}
		return $clean;
	}

	public static function mark_revoked( string $id, string $email, string $reason ): void {
		self::forget_cache();
		if ( in_array( $id, self::removed(), true ) ) {
			return; // The site's own Disconnect: not news to the admin.
		}
		$revoked        = self::revoked();
		$revoked[ $id ] = array(
			'email'  => $email,
			'reason' => $reason,
			'at'     => time(),
		);
		update_option( self::REVOKED, $revoked, false );
	}

	/** Connected again (or removed): forget it, and any other revoked entry for the same account. */
	public static function mark_connected( string $id, string $email = '' ): void {
		$revoked = self::revoked();
		$kept    = array();
		foreach ( $revoked as $other => $entry ) {
			$same_account = '' !== $email && strtolower( $entry['email'] ) === strtolower( $email );
			if ( $other !== $id && ! $same_account ) {
				$kept[ $other ] = $entry;
			}
		}
		if ( count( $kept ) !== count( $revoked ) ) {
			update_option( self::REVOKED, $kept, false );
		}
		self::forget_cache();
	}

	/** @return string[] */
	public static function removed(): array {
		$removed = get_option( self::REMOVED, array() );
		return is_array( $removed ) ? array_values( array_filter( $removed, 'is_string' ) ) : array();
	}

	/** The admin disconnected it here: no list entry, no notice, until it is connected again. */
	public static function mark_removed( string $id ): void {
		$removed   = array_values( array_diff( self::removed(), array( $id ) ) );
		$removed[] = $id;
		update_option( self::REMOVED, array_slice( $removed, -self::MAX_REMOVED ), false );
		self::mark_connected( $id );
	}

	/** Connected again through the connect flow: listed again. */
	public static function unmark_removed( string $id ): void {
		$removed = self::removed();
		if ( in_array( $id, $removed, true ) ) {
			update_option( self::REMOVED, array_values( array_diff( $removed, array( $id ) ) ), false );
		}
	}

	/**
	 * Brings the revoked set in line with what the service says, for sites whose webhook
	 * is not (yet) registered: a revoked connection is added, a connected or vanished one dropped.
	 *
	 * @param array<int, array<string, mixed>> $list
	 */
	private static function reconcile( array $list ): void {
		$revoked = self::revoked();
		$next    = array();
		foreach ( $list as $connection ) {
			$id = $connection['id'];
			if ( 'reconnect_required' !== $connection['status'] ) {
				continue;
			}
			$next[ $id ] = $revoked[ $id ] ?? array(
				'email'  => (string) $connection['email'],
				'reason' => (string) ( $connection['revocation_reason'] ?? '' ),
				'at'     => time(),
			);
		}
		if ( $next !== $revoked ) {
			update_option( self::REVOKED, $next, false );
		}
	}
}
