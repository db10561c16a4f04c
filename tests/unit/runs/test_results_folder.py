"""Results folders: pre-flight of --out, the move into place, the completion marker."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from basiskit.errors.exceptions import PathUnusable, ResultsIncomplete, RunFilesMissing
from basiskit.runs.folder import (MARKER, check_complete, check_out_dir, check_writable_dir, is_complete, publish,
                                  staging_dir)


def _staged(parent: Path, run_id: str, out: Path, summary: str = '{"run": 1}') -> Path:
    st = staging_dir(out, run_id)
    (st / "events").mkdir(parents=True)
    (st / "summary.json").write_text(summary)
    (st / "equity.csv").write_text("timestamp,equity\n2024-01-01T00:00:00Z,1\n")
    (st / "events" / "strategy_events.jsonl").write_text('{"kind": "decision"}\n')
    (st / "report.html").write_text("<html></html>")
    return st


def test_preflight_accepts_new_empty_and_earlier_results_folders_and_creates_nothing(tmp_path):
    assert check_out_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists() and list(tmp_path.iterdir()) == []
    (tmp_path / "empty").mkdir()
    check_out_dir(tmp_path / "empty")
    out = tmp_path / "old"
    publish(_staged(tmp_path, "r1", out), out, "r1")
    check_out_dir(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "old"]  # no probe left behind


def test_preflight_refuses_a_file_a_path_inside_a_file_and_foreign_files(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("mine")
    for path, words in ((f, "is a file"), (f / "sub", "lies inside"), (f / "a" / "b", "lies inside")):
        with pytest.raises(PathUnusable) as exc:
            check_out_dir(path)
        assert exc.value.code == "RUN-012" and exc.value.field == "out" and words in str(exc.value)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.md").write_text("do not lose")
    (mine / "summary.json").write_text("{}")
    with pytest.raises(PathUnusable, match="notes.md"):
        check_out_dir(mine)
    with pytest.raises(PathUnusable):
        publish(_staged(tmp_path, "r2", mine), mine, "r2")
    assert (mine / "notes.md").read_text() == "do not lose"


def test_preflight_refuses_a_mount_point(tmp_path):
    """A mount point cannot be renamed aside when the run finishes: refused before the run."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "basiskit-mnt", str(mnt)], capture_output=True).returncode:
        pytest.skip("no right to mount a tmpfs here")
    try:
        with pytest.raises(PathUnusable, match="mount point"):
            check_out_dir(mnt)
        check_out_dir(mnt / "run1")  # a folder inside it is fine
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_preflight_refuses_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for path in (".", str(tmp_path), ".."):
        with pytest.raises(PathUnusable, match="working directory"):
            check_out_dir(path)


def test_preflight_refuses_a_read_only_place(readonly_dir):
    for path in (readonly_dir, readonly_dir / "out", readonly_dir / "a" / "b"):
        with pytest.raises(PathUnusable, match="not writable") as exc:
            check_out_dir(path)
        assert exc.value.field == "out"
    with pytest.raises(PathUnusable, match="not writable") as exc:
        check_writable_dir(readonly_dir / "home", "data_dir", "data folder")
    assert exc.value.field == "data_dir" and "data folder" in str(exc.value)


def test_publish_moves_the_folder_in_place_and_marks_it_last(tmp_path):
    out = tmp_path / "out"
    st = _staged(tmp_path, "r1", out)
    marker = publish(st, out, "r1", "btc_basis")
    assert not st.exists() and is_complete(out)
    on_disk = json.loads((out / MARKER).read_text())
    assert on_disk == marker and marker["run_id"] == "r1" and marker["status"] == "finished"
    assert marker["files"] == {"equity.csv": 40, "events/strategy_events.jsonl": 21, "summary.json": 10}
    assert marker["derived"] == ["report.html"] and marker["finished_at"].endswith("Z")
    assert check_complete(out) == marker


def test_publish_replaces_an_earlier_run_and_leaves_nothing_beside(tmp_path):
    out = tmp_path / "out"
    publish(_staged(tmp_path, "r1", out), out, "r1")
    (out / "png").mkdir()
    (out / "png" / "equity.png").write_bytes(b"old")
    publish(_staged(tmp_path, "r2", out, '{"run": 2}'), out, "r2")
    assert json.loads((out / "summary.json").read_text()) == {"run": 2} and check_complete(out)["run_id"] == "r2"
    assert not (out / "png").exists()  # the earlier run's charts went with it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_publish_through_a_symbolic_link_keeps_the_link(tmp_path):
    real = tmp_path / "real"
    publish(_staged(tmp_path, "r1", real), real, "r1")
    link = tmp_path / "latest"
    link.symlink_to(real)
    publish(_staged(tmp_path, "r2", link), link, "r2")
    assert link.is_symlink() and check_complete(link)["run_id"] == "r2" == check_complete(real)["run_id"]


def test_a_folder_is_incomplete_without_its_marker_or_when_a_file_changed(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RunFilesMissing):
        check_complete(out)
    publish(_staged(tmp_path, "r1", out), out, "r1")
    (out / "report.html").write_text("<html>rewritten by basiskit report</html>")  # derived: not checked
    assert is_complete(out)
    with (out / "equity.csv").open("a") as fh:
        fh.write("2024-01-01T01:00:00Z,2\n")
    with pytest.raises(ResultsIncomplete, match="equity.csv has 63 bytes, run.json says 40"):
        check_complete(out)
    (out / "equity.csv").unlink()
    with pytest.raises(ResultsIncomplete, match="equity.csv is missing"):
        check_complete(out)
    (out / MARKER).write_text("{not json")
    with pytest.raises(ResultsIncomplete, match="not a basiskit completion marker"):
        check_complete(out)
    (out / MARKER).unlink()
    (out / "report.html").unlink()
    with pytest.raises(ResultsIncomplete, match="no run.json") as exc:
        check_complete(out)
    assert exc.value.code == "RUN-011"


def test_a_folder_written_before_markers_counts_when_it_has_its_report(tmp_path):
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "summary.json").write_text("{}")
    assert not is_complete(legacy)  # killed before the report (the old writer's last file)
    (legacy / "report.html").write_text("<html></html>")
    assert check_complete(legacy)["format"] == "legacy"
