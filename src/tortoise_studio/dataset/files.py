"""The dataset folder's file helpers: atomic JSON and backups, under the names the dataset modules use.

They are the package-wide ones of fileio.py (one atomic write, one backup scheme:
training/<dataset>/backups/<YYYYmmdd-HHMMSS>/).
"""

from __future__ import annotations

from ..fileio import atomic_write_json as write_json
from ..fileio import backup_copy as copy_to_backup
from ..fileio import backup_move as move_to_backup
from ..fileio import new_backup_dir

__all__ = ["write_json", "copy_to_backup", "move_to_backup", "new_backup_dir"]
