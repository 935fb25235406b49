"""An imported zip of a CSV bundle is reported under the file's name, not the folder it was
unpacked to ("unpacked: Added 2 cities ...")."""

from __future__ import annotations

import io
import zipfile

from tests.test_import_qa_fixes import BUNDLE


def test_a_zipped_bundle_is_reported_under_its_file_name(admin):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in BUNDLE.items():
            archive.writestr(name, text)
    reply = admin.upload("/api/v1/imports", "qax2.zip", buffer.getvalue(), {"dry_run": "true"})
    assert reply.status == 200, reply.body
    assert reply.json["report"].startswith("qax2.zip: Would add 3 cities"), reply.json["report"]
    assert "unpacked" not in reply.json["report"]
