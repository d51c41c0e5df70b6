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
				static fn( array $c ): bool => 'connected' === $c['status'] || ! isset( $removed[ $c['id'] ] )
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

	/**
	 * A connection lost its Google access (`$at`: when the service saw it). The site's own
	 * Disconnect is not news to the admin, so a removed connection raises nothing.
	 */
	public static function mark_revoked( string $id, string $email, string $reason, ?int $at = null ): void {
		self::forget_cache();
		if ( isset( self::removed()[ $id ] ) ) {
			return;
		}
		$revoked        = self::revoked();
		$revoked[ $id ] = array(
			'email'  => $email,
			'reason' => $reason,
			'at'     => $at ?? time(),
		);
		update_option( self::REVOKED, $revoked, false );
	}

	/**
	 * Connected again at `$at` (now when null): forget its revocation, and any other one of the
	 * same account, unless that revocation is newer (webhooks may arrive out of order).
	 */
	public static function mark_connected( string $id, string $email = '', ?int $at = null ): void {
		$at      = $at ?? time();
		$revoked = self::revoked();
		$kept    = array();
		foreach ( $revoked as $other => $entry ) {
			$same = $other === $id || ( '' !== $email && strtolower( $entry['email'] ) === strtolower( $email ) );
			if ( ! $same || $entry['at'] > $at ) {
				$kept[ $other ] = $entry;
			}
		}
		if ( count( $kept ) !== count( $revoked ) ) {
			update_option( self::REVOKED, $kept, false );
		}
		self::forget_cache();
	}

	/** @return array<string, int> Connection id => when it was disconnected here. */
	public static function removed(): array {
		$removed = get_option( self::REMOVED, array() );
		$clean   = array();
		foreach ( is_array( $removed ) ? $removed : array() as $id => $at ) {
			if ( is_string( $id ) ) {
				$clean[ $id ] = (int) $at;
			}
		}
		return $clean;
	}

	/** The admin disconnected it here: no list entry, no notice, until it is connected again. */
	public static function mark_removed( string $id ): void {
		$removed = self::removed();
		unset( $removed[ $id ] );
		$removed[ $id ] = time();
		update_option( self::REMOVED, array_slice( $removed, -self::MAX_REMOVED, null, true ), false );
		self::mark_connected( $id );
	}

	/**
	 * Connected again after it was disconnected here (`$at`: when; now when null). A
	 * connection.connected webhook older than the Disconnect changes nothing.
	 */
	public static function unmark_removed( string $id, ?int $at = null ): void {
		$removed = self::removed();
		if ( isset( $removed[ $id ] ) && ( null === $at || $at > $removed[ $id ] ) ) {
			unset( $removed[ $id ] );
			update_option( self::REMOVED, $removed, false );
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
			$since       = is_string( $connection['revoked_at'] ?? null ) ? strtotime( $connection['revoked_at'] ) : false;
			$next[ $id ] = $revoked[ $id ] ?? array(
				'email'  => (string) $connection['email'],
				'reason' => (string) ( $connection['revocation_reason'] ?? '' ),
				'at'     => false !== $since ? $since : time(),
			);
		}
		if ( $next !== $revoked ) {
			update_option( self::REVOKED, $next, false );
		}
	}
}
