"""Finding the instance folder (the default SQLite database and the sandbox's generated files).

Like git finding ``.git``, a command run in a sub-folder of the deployment uses the nearest
``instance/`` above it that holds a database. Only ``db upgrade`` creates a new one, where
``serve`` looks (``./instance``); every other command refuses, naming the variable to set,
rather than leave an empty folder behind.
"""

from __future__ import annotations

from pathlib import Path

from gmail_oneclick.settings import PREFIX, Settings, SettingsError

DATABASE_FILE = "gmail-oneclick.sqlite"
SANDBOX_KEYRING = "sandbox-keyring.txt"


def _search_upward(start: Path, name: str) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / name
        if (candidate / DATABASE_FILE).is_file():
            return candidate
    return None


def locate_instance(settings: Settings, *, may_create: bool = False) -> Settings:
    """Settings whose instance folder is the one this command should use.

    ``may_create`` (``db upgrade``): ``./instance`` or GMAIL_ONECLICK_INSTANCE_PATH, as
    ``serve`` uses, created when missing. Raises SettingsError naming the variable to set when
    no instance is found, or when it is a sandbox's and GMAIL_ONECLICK_SANDBOX is not set.
    """
    if not settings.database_url:
        settings = _with_database_folder(settings, may_create=may_create)
    _refuse_sandbox_folder_outside_sandbox_mode(settings)
    return settings


def _with_database_folder(settings: Settings, *, may_create: bool) -> Settings:
    chosen = Path(settings.instance_path)
    if may_create:
        # db upgrade works where serve will run (./instance or INSTANCE_PATH, never a folder
        # above): `make run` upgrades, then serves, the same database.
        return settings
    if settings.instance_path == Settings.instance_path:  # not set: look here, then above
        found = _search_upward(Path.cwd(), settings.instance_path)
        if found is not None:
            return settings.replace(instance_path=str(found))
        if not may_create:
            raise SettingsError(
                f"no instance folder with a database ({Settings.instance_path}/{DATABASE_FILE}) "
                f"in {Path.cwd()} or above: run the command where it is, or set "
                f"{PREFIX}INSTANCE_PATH to its folder (or {PREFIX}DATABASE_URL); "
                "'gmail-oneclick db upgrade' creates a new one")
    elif not may_create and not (chosen / DATABASE_FILE).is_file():
        raise SettingsError(
            f"{PREFIX}INSTANCE_PATH ({chosen.resolve()}) holds no database ({DATABASE_FILE}): "
            "correct the variable, or create one with 'gmail-oneclick db upgrade'")
    return settings


def _refuse_sandbox_folder_outside_sandbox_mode(settings: Settings) -> None:
    """A sandbox's folder without SANDBOX=1 would otherwise fail on the missing keyring,
    pointing at ENCRYPTION_KEYS when the one thing missing is the sandbox switch."""
    if settings.sandbox or settings.encryption_keys:
        return
    folder = Path(settings.instance_path)
    if (folder / SANDBOX_KEYRING).is_file() or _marked_for_the_sandbox(settings):
        raise SettingsError(
            f"{folder.resolve()} is a sandbox's instance folder: set {PREFIX}SANDBOX=1 to use "
            f"it (a real deployment sets {PREFIX}ENCRYPTION_KEYS instead)")


def _marked_for_the_sandbox(settings: Settings) -> bool:
    """Whether the instance's SQLite database was created in sandbox mode (its keyring file
    appears only once a command has run in sandbox mode)."""
    from gmail_oneclick.adapters.storage.deployment import SANDBOX, read_mode
    from gmail_oneclick.adapters.storage.tables import make_engine

    if settings.database_url or not (Path(settings.instance_path) / DATABASE_FILE).is_file():
        return False
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            return read_mode(conn) == SANDBOX
    finally:
        engine.dispose()
