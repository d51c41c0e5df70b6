<?php
/**
 * Settings → Gmail one-click: the screen, its Settings API fields and the connect return.
 *
 * @package Gmail_OneClick
 */

declare(strict_types=1);

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Everything printed here is escaped where it is printed; every form carries a nonce.
 */
final class Gmail_OneClick_Admin_Page {

	public const CAPABILITY   = 'manage_options';
	public const RETURN_NONCE = 'gmail_oneclick_return';
	public const RETURN_ARG   = 'gmail_oneclick_nonce';

	/** @var array{type: string, text: string}|null The connect flow's result, once checked. */
	private static ?array $returned = null;

	/** @var array<int, array<string, mixed>>|WP_Error|null The list, read before any output. */
	private static $list = null;

	public static function register(): void {
		add_action( 'admin_menu', array( self::class, 'add_menu' ) );
		add_action( 'admin_init', array( self::class, 'add_fields' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( GMAIL_ONECLICK_FILE ), array( self::class, 'action_links' ) );
	}

	public static function add_menu(): void {
		$hook = add_options_page(
			__( 'Gmail one-click', 'gmail-oneclick' ),
			__( 'Gmail one-click', 'gmail-oneclick' ),
			self::CAPABILITY,
			Gmail_OneClick_Settings::PAGE,
			array( self::class, 'render' )
		);
		if ( $hook ) {
			add_action( 'load-' . $hook, array( self::class, 'on_load' ) );
		}
	}

	/** @param string[] $links */
	public static function action_links( array $links ): array {
		array_unshift( $links, sprintf( '<a href="%s">%s</a>', esc_url( Gmail_OneClick_Settings::page_url() ), esc_html__( 'Settings', 'gmail-oneclick' ) ) );
		return $links;
	}

	/** Before any output: styles, and the result of a return from the connect flow. */
	public static function on_load(): void {
		add_action(
			'admin_enqueue_scripts',
			static function (): void {
				wp_enqueue_style( 'gmail-oneclick-admin', plugins_url( 'assets/admin.css', GMAIL_ONECLICK_FILE ), array(), GMAIL_ONECLICK_VERSION );
			}
		);
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- verified just below.
		if ( isset( $_GET['gmail_oneclick'] ) && is_string( $_GET['gmail_oneclick'] ) ) {
			self::$returned = self::check_return(
				sanitize_key( wp_unslash( $_GET['gmail_oneclick'] ) ),
				isset( $_GET[ self::RETURN_ARG ] ) ? sanitize_text_field( wp_unslash( (string) $_GET[ self::RETURN_ARG ] ) ) : '',
				isset( $_GET['connection_id'] ) ? Gmail_OneClick_Settings::sanitize_id( wp_unslash( (string) $_GET['connection_id'] ) ) : '',
				isset( $_GET['reason'] ) ? sanitize_key( wp_unslash( (string) $_GET['reason'] ) ) : ''
			);
		}
		// phpcs:enable
		// Read now, not while rendering: reconciling the revoked set must come before the
		// admin notices are printed.
		self::$list = Gmail_OneClick_Settings::configured() ? Gmail_OneClick_Connections::fresh() : new WP_Error( 'gmail_oneclick_not_configured', '' );
	}

	/** The return URL given to the service: this screen with a nonce of its own. */
	public static function return_url(): string {
		return Gmail_OneClick_Settings::page_url( array( self::RETURN_ARG => wp_create_nonce( self::RETURN_NONCE ) ) );
	}

	/** @return array{type: string, text: string} */
	private static function check_return( string $result, string $nonce, string $connection_id, string $reason ): array {
		if ( ! wp_verify_nonce( $nonce, self::RETURN_NONCE ) ) {
			return array(
				'type' => 'error',
				'text' => __( 'This connect result could not be verified (the link is too old or was not started from this screen), so it was ignored. Click “Connect Gmail” to start again.', 'gmail-oneclick' ),
			);
		}
		if ( 'connected' !== $result ) {
			return array(
				'type' => 'error',
				'text' => Gmail_OneClick_Words::connect_error( 'error' === $result && '' !== $reason ? $reason : $result ),
			);
		}
		Gmail_OneClick_Connections::unmark_removed( $connection_id );
		Gmail_OneClick_Connections::mark_connected( $connection_id );
		$list  = Gmail_OneClick_Connections::fresh();
		$found = is_wp_error( $list ) ? null : Gmail_OneClick_Connections::by_id( $list, $connection_id );
		if ( null !== $found ) {
			Gmail_OneClick_Connections::mark_connected( $connection_id, (string) $found['email'] );
			return array(
				'type' => 'success',
				/* translators: %s: Gmail address */
				'text' => sprintf( __( 'Gmail is connected: %s now sends this site’s email. Send a test email below to check.', 'gmail-oneclick' ), $found['email'] ),
			);
		}
		return array(
			'type' => 'success',
			'text' => __( 'Gmail is connected. Send a test email below to check.', 'gmail-oneclick' ),
		);
	}

	public static function add_fields(): void {
		$page = Gmail_OneClick_Settings::PAGE;
		add_settings_section( 'gmail_oneclick_service', __( 'Service settings', 'gmail-oneclick' ), array( self::class, 'service_intro' ), $page );
		$fields = array(
			'service_url'    => __( 'Service URL', 'gmail-oneclick' ),
			'api_key'        => __( 'Site API key', 'gmail-oneclick' ),
			'webhook_secret' => __( 'Webhook secret', 'gmail-oneclick' ),
		);
		foreach ( $fields as $name => $label ) {
			add_settings_field(
				'gmail_oneclick_' . $name,
				$label,
				array( self::class, 'render_field' ),
				$page,
				'gmail_oneclick_service',
				array(
					'name'      => $name,
					'label_for' => 'gmail-oneclick-' . str_replace( '_', '-', $name ),
				)
			);
		}
	}

	public static function service_intro(): void {
		echo '<p>' . esc_html__( 'Where your Gmail one-click service runs, and the API key and webhook secret it printed when this site was registered. Values defined in wp-config.php win and are shown read-only.', 'gmail-oneclick' ) . '</p>';
	}

	/** @param array{name: string, label_for: string} $args */
	public static function render_field( array $args ): void {
		$name     = $args['name'];
		$id       = $args['label_for'];
		$constant = Gmail_OneClick_Settings::CONSTANTS[ $name ];
		if ( Gmail_OneClick_Settings::from_constant( $name ) ) {
			self::render_constant_field( $name, $id, $constant );
			return;
		}
		$field = Gmail_OneClick_Settings::OPTION . '[' . $name . ']';
		if ( 'service_url' === $name ) {
			printf(
				'<input type="url" id="%1$s" name="%2$s" value="%3$s" class="regular-text code" placeholder="https://gmail-oneclick.example.com" spellcheck="false" />',
				esc_attr( $id ),
				esc_attr( $field ),
				esc_attr( Gmail_OneClick_Settings::stored()['service_url'] )
			);
			return;
		}
		$stored = '' !== Gmail_OneClick_Settings::stored()[ $name ];
		// A stored secret is never printed back, not even in a password field.
		printf(
			'<input type="password" id="%1$s" name="%2$s" value="" class="regular-text code" autocomplete="off" spellcheck="false" placeholder="%3$s" />',
			esc_attr( $id ),
			esc_attr( $field ),
			esc_attr( $stored ? __( 'stored — leave blank to keep', 'gmail-oneclick' ) : '' )
		);
		echo '<p class="description">';
		if ( $stored ) {
			esc_html_e( 'A value is stored — leave blank to keep it.', 'gmail-oneclick' );
		} elseif ( 'api_key' === $name ) {
			esc_html_e( 'The api_key the service printed when this site was registered.', 'gmail-oneclick' );
		} else {
			esc_html_e( 'The webhook_secret (whsec_…) the service printed when this site was registered.', 'gmail-oneclick' );
		}
		echo '</p>';
	}

	private static function render_constant_field( string $name, string $id, string $constant ): void {
		echo '<p id="' . esc_attr( $id ) . '" class="gmail-oneclick-constant">';
		if ( 'service_url' === $name ) {
			echo '<code>' . esc_html( Gmail_OneClick_Settings::get( 'service_url' ) ) . '</code><br />';
		}
		/* translators: %s: a PHP constant name */
		echo esc_html( sprintf( __( 'Set by %s in wp-config.php (read-only here).', 'gmail-oneclick' ), $constant ) );
		echo '</p>';
		if ( 'service_url' === $name && '' === Gmail_OneClick_Settings::service_url() ) {
			echo '<p class="description gmail-oneclick-warning">' . esc_html__( 'This URL is not used: it must start with https:// (http:// only for 127.0.0.1, ::1 or localhost). Fix it in wp-config.php.', 'gmail-oneclick' ) . '</p>';
		}
		if ( 'webhook_secret' === $name && ! Gmail_OneClick_Settings::secret_valid( Gmail_OneClick_Settings::webhook_secret() ) ) {
			echo '<p class="description gmail-oneclick-warning">' . esc_html__( 'This secret is not used: it must start with whsec_. Fix it in wp-config.php.', 'gmail-oneclick' ) . '</p>';
		}
	}

	public static function render(): void {
		if ( ! current_user_can( self::CAPABILITY ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage Gmail one-click.', 'gmail-oneclick' ), '', array( 'response' => 403 ) );
		}
		$list = self::$list ?? new WP_Error( 'gmail_oneclick_not_configured', '' );
		echo '<div class="wrap gmail-oneclick">';
		echo '<h1>' . esc_html__( 'Gmail one-click', 'gmail-oneclick' ) . '</h1>';
		if ( null !== self::$returned ) {
			Gmail_OneClick_Admin_Sections::result( self::$returned['type'], self::$returned['text'] );
		}
		$flash = Gmail_OneClick_Admin_Actions::take_flash();
		if ( null !== $flash ) {
			Gmail_OneClick_Admin_Sections::result( $flash['type'], $flash['text'] );
		}
		Gmail_OneClick_Admin_Sections::connections( $list );
		if ( ! is_wp_error( $list ) && array() !== $list ) {
			Gmail_OneClick_Admin_Sections::default_connection( $list );
			Gmail_OneClick_Admin_Sections::test_email( $list );
		}
		echo '<form method="post" action="' . esc_url( admin_url( 'options.php' ) ) . '" id="gmail-oneclick-settings">';
		settings_fields( Gmail_OneClick_Settings::GROUP );
		do_settings_sections( Gmail_OneClick_Settings::PAGE );
		submit_button( __( 'Save settings', 'gmail-oneclick' ) );
		echo '</form>';
		Gmail_OneClick_Admin_Sections::webhook();
		Gmail_OneClick_Admin_Sections::send_log( is_wp_error( $list ) ? array() : $list );
		echo '</div>';
	}
}
