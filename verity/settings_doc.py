"""The settings table of docs/deployment.md, made from `Settings` so the two cannot drift:
`python -m verity.settings_doc` rewrites it, and a test checks it is current."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined

from verity.settings import Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "deployment.md"
BEGIN = "<!-- settings table: made by `python -m verity.settings_doc` from verity/settings.py; do not edit -->"
END = "<!-- end of settings table -->"


def _default(value: Any) -> str:
    if value is None or value is PydanticUndefined:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int) and value >= 1024**2 and value % 1024**2 == 0:
        return f"{value // 1024**3} GiB" if value % 1024**3 == 0 else f"{value // 1024**2} MiB"
    if isinstance(value, Path) and not value.is_absolute():
        return f"`./{value}`"
    return f"`{value}`"


def settings_table() -> str:
    """One row per setting: its variable, default and description."""
    prefix = str(Settings.model_config.get("env_prefix", "")).upper()
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{prefix}{name.upper()}` | {_default(field.default)} | {meaning} |")
    return "\n".join(rows)


def with_current_table(document: str) -> str:
    """`document` with the text between the markers replaced by the current table."""
    head, found, rest = document.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise ValueError(f"{DOC} lacks the settings table markers")
    return f"{head}{BEGIN}\n{settings_table()}\n{END}{tail}"


def main() -> int:
    DOC.write_text(with_current_table(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
