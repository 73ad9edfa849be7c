"""The documentation that mirrors code stays equal to it."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from verity.settings_doc import DOC, settings_table, with_current_table


def test_settings_table_in_the_deployment_doc_is_the_one_settings_py_makes() -> None:
    document = DOC.read_text(encoding="utf-8")
    assert with_current_table(document) == document, "run `python -m verity.settings_doc` to update it"
    assert "`VERITY_UPLOAD_STALL_SECONDS`" in settings_table()


def test_every_file_the_readme_links_to_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)\)", readme)
    assert targets, "the README links to its docs"
    missing = [t for t in targets if not t.startswith("http") and not (ROOT / t).exists()]
    assert missing == []
