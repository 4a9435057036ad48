"""Start-up checks of the libraries that parse untrusted files."""

from __future__ import annotations


class UnsafeEnvironmentError(RuntimeError):
    """The environment would parse untrusted workbooks without the guards we rely on."""


def ensure_openpyxl_uses_defusedxml() -> None:
    """openpyxl guards against XML entity attacks only when defusedxml is importable and
    OPENPYXL_DEFUSEDXML is not switched off; refuse to run otherwise."""
    import openpyxl

    if not openpyxl.DEFUSEDXML:
        raise UnsafeEnvironmentError(
            "openpyxl が defusedxml を使っていません（XML エンティティ攻撃を防げません）。"
            "requirements.lock どおりに defusedxml をインストールし、OPENPYXL_DEFUSEDXML を False にしないでください。"
        )
