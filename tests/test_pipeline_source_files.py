"""What a files source remembers of the files it loaded (issue 20, items 1.2, 1.3, 2.5).

A file is known by its name under the source root, its size and the SHA-256 of its
bytes, so a moved or copied source directory is not loaded again; a loaded file that grew
has only its appended lines loaded; one rewritten in place fails the run (or is reloaded
or ignored, by `source.changed_files`); a glob matching nothing warns, or fails with
`require_files`. Each table is read back by deltalake.
"""

from __future__ import annotations

import json
import shutil

import pytest

import pipeline_support as ps

SCHEMA = {"id": "int64", "v": "string"}


def _yaml(root, strategy, *, path, fmt="ndjson", keys=("id",), properties=None, **source):
    p = ps.pipeline("p", path=path, fmt=fmt, dest="table", schema=SCHEMA,
                    keys=list(keys), strategy=strategy, properties=properties)
    p["source"].update(source)
    return ps.write_pipelines(root / "pipelines.yaml", p)


def _rows(table):
    return sorted((r["id"], r["v"]) for r in ps.read_table(table).to_pylist())


def test_a_moved_source_root_is_not_loaded_again(tmp_path):
    """The issue's case: path "${SRC_DIR:-src}/*.csv", the directory moved, SRC_DIR set."""
    yaml = _yaml(tmp_path, {"type": "append"}, path="${SRC_DIR:-src}/*.csv", fmt="csv")
    ps.write_source(tmp_path / "src" / "a.csv", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}])
    assert ps.run(yaml).report["status"] == "committed"

    moved = tmp_path / "elsewhere" / "landing"
    moved.parent.mkdir()
    shutil.move(tmp_path / "src", moved)
    res = ps.run(yaml, env={"SRC_DIR": str(moved)})
    report = res.report
    assert report["status"] == "no_changes", report
    assert any("source root moved from" in w and str(moved) in w
               for w in report.get("warnings", [])), report
    assert _rows(tmp_path / "table") == [(1, "a"), (2, "b")]

    # A copy (fresh modification times) is recognized by content; a new file is loaded.
    copied = tmp_path / "copy"
    shutil.copytree(moved, copied)
    ps.write_source(copied / "b.csv", [{"id": 3, "v": "c"}])
    report = ps.run(yaml, env={"SRC_DIR": str(copied)}).report
    assert report["status"] == "committed" and report["rows_written"] == 1, report
    assert _rows(tmp_path / "table") == [(1, "a"), (2, "b"), (3, "c")]
    assert ps.state(tmp_path / "table")["p"]["source_root"] == str(copied)


@pytest.mark.parametrize("strategy", [
    {"type": "append"},
    {"type": "merge"},
    {"type": "cdc", "sequence_by": "id"},
], ids=["append", "merge", "cdc"])
def test_a_line_appended_to_a_loaded_file_is_loaded(tmp_path, strategy):
    """The issue's case: an NDJSON line appended to a loaded file gave no_changes, exit 0."""
    yaml = _yaml(tmp_path, strategy, path="src/*.ndjson")
    src = tmp_path / "src" / "a.ndjson"
    op = {"op": "c"} if strategy["type"] == "cdc" else {}
    ps.write_source(src, [{"id": 1, "v": "a", **op}, {"id": 2, "v": "b", **op}])
    assert ps.run(yaml).report["status"] == "committed"
    with src.open("a") as f:
        f.write(json.dumps({"id": 3, "v": "c", **op}) + "\n")
    report = ps.run(yaml).report
    assert report["status"] == "committed", report
    assert report["rows_read"] == 1, f"only the appended line is read: {report}"
    assert _rows(tmp_path / "table") == [(1, "a"), (2, "b"), (3, "c")]
    assert ps.run(yaml).report["status"] == "no_changes"


def test_a_row_appended_to_a_loaded_csv_file_is_loaded_under_its_header(tmp_path):
    yaml = _yaml(tmp_path, {"type": "append"}, path="src", fmt="csv")
    src = tmp_path / "src" / "a.csv"
    src.parent.mkdir()
    src.write_text("v,id\nx,1\n")  # columns in another order than the schema's
    assert ps.run(yaml).report["status"] == "committed"
    with src.open("a") as f:
        f.write("y,2\nz,3\n")
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_written"] == 2, report
    assert _rows(tmp_path / "table") == [(1, "x"), (2, "y"), (3, "z")]


def test_a_rewritten_file_fails_the_run_and_leaves_the_table(tmp_path):
    yaml = _yaml(tmp_path, {"type": "append"}, path="src/*.ndjson")
    src = tmp_path / "src" / "a.ndjson"
    ps.write_source(src, [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}])
    assert ps.run(yaml).report["status"] == "committed"
    ps.write_source(tmp_path / "src" / "b.ndjson", [{"id": 5, "v": "e"}])
    ps.write_source(src, [{"id": 1, "v": "A"}, {"id": 2, "v": "b"}])  # same size, new bytes
    before = ps.committed_log(tmp_path / "table")
    line = ps.run_refused(yaml)
    assert str(src) in line and "changed since it was loaded" in line, line
    assert "changed_files" in line, line
    ps.assert_log_unchanged(tmp_path / "table", before, "a run refusing a rewritten file")

    # changed_files: reload loads it again whole (a merge would make that harmless).
    yaml = _yaml(tmp_path, {"type": "append"}, path="src/*.ndjson", changed_files="reload")
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_written"] == 3, report
    assert any("loaded again whole" in w for w in report["warnings"]), report
    assert _rows(tmp_path / "table") == [(1, "A"), (1, "a"), (2, "b"), (2, "b"), (5, "e")]


def test_changed_files_ignore_keeps_the_old_behaviour_with_a_warning(tmp_path):
    yaml = _yaml(tmp_path, {"type": "append"}, path="src/*.ndjson", changed_files="ignore")
    src = tmp_path / "src" / "a.ndjson"
    ps.write_source(src, [{"id": 1, "v": "a"}])
    assert ps.run(yaml).report["status"] == "committed"
    ps.write_source(src, [{"id": 9, "v": "zzz"}])
    ps.write_source(tmp_path / "src" / "b.ndjson", [{"id": 2, "v": "b"}])
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_written"] == 1, report
    assert any("not loaded again" in w for w in report["warnings"]), report
    assert _rows(tmp_path / "table") == [(1, "a"), (2, "b")]


def test_a_glob_matching_nothing_warns_or_fails(tmp_path):
    (tmp_path / "src").mkdir()
    yaml = _yaml(tmp_path, {"type": "append"}, path="src/*.ndjson")
    report = ps.run(yaml).report
    assert report["status"] == "no_changes", report
    assert any("matches no files" in w for w in report["warnings"]), report
    text = ps.cli("run", yaml, cwd=tmp_path).stdout
    assert "warning:" in text and "matches no files" in text, text

    yaml = _yaml(tmp_path, {"type": "append"}, path="src/*.ndjson", require_files=True)
    line = ps.run_refused(yaml)
    assert "matches no files" in line and "require_files" in line, line


@pytest.mark.parametrize("storage", ["domainMetadata", "files"])
def test_a_restore_takes_the_pipeline_state_back_with_the_rows(tmp_path, storage):
    """inlet restore (issue 20, item 3.1): the pipeline's state returns with its data, so the
    next run loads again exactly what the restore took away."""
    yaml = _yaml(tmp_path, {"type": "append"}, path="src/*.ndjson",
                 properties={"inlet.stateStorage": storage})
    ps.write_source(tmp_path / "src" / "a.ndjson", [{"id": 1, "v": "a"}])
    assert ps.run(yaml).report["table_version"] == 0
    ps.write_source(tmp_path / "src" / "b.ndjson", [{"id": 2, "v": "b"}])
    assert ps.run(yaml).report["table_version"] == 1
    ps.cli("restore", tmp_path / "table", "--version", "0")
    assert _rows(tmp_path / "table") == [(1, "a")]
    state = ps.state(tmp_path / "table")["p"]
    assert sorted(state["files"]) == ["a.ndjson"], state
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_written"] == 1, report
    assert report["run"] == 3, "run numbers keep growing across a restore"
    assert _rows(tmp_path / "table") == [(1, "a"), (2, "b")]


# ---------------------------------------------------------------------------------------
# A bad file need not block every later good one (issue 20, item 2.4)


def _typed_yaml(tmp_path, **source):
    p = ps.pipeline("p", path="src/*.ndjson", fmt="ndjson", dest="table",
                    schema={"id": "long", "v": "string"}, keys=["id"], strategy={"type": "append"})
    p["source"].update(source)
    return ps.write_pipelines(tmp_path / "pipelines.yaml", p)


def _bad_source(tmp_path):
    src = tmp_path / "src"
    ps.write_source(src / "a.ndjson", [{"id": 1, "v": "a"}])
    (src / "b.ndjson").write_text('{"id": 2, "v": "b"}\n{"id": "two", "v": "b"}\n')
    ps.write_source(src / "c.ndjson", [{"id": 3, "v": "c"}])
    return src


def test_a_bad_file_fails_the_run_by_default(tmp_path):
    _bad_source(tmp_path)
    line = ps.run_refused(_typed_yaml(tmp_path))
    assert "b.ndjson: line 2, column 'id'" in line, line


@pytest.mark.parametrize("policy", ["skip", "quarantine"])
def test_bad_files_skip_or_quarantine(tmp_path, policy):
    src = _bad_source(tmp_path)
    extra = {"quarantine_dir": "quarantine"} if policy == "quarantine" else {}
    yaml = _typed_yaml(tmp_path, bad_files=policy, **extra)
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_written"] == 2, report
    (skipped,) = report["files_skipped"]
    assert skipped["file"] == str(src / "b.ndjson") and "line 2, column 'id'" in skipped["reason"], skipped
    if policy == "quarantine":
        assert skipped["quarantined"] == str(tmp_path / "quarantine" / "b.ndjson")
        assert (tmp_path / "quarantine" / "b.ndjson").read_bytes() == (src / "b.ndjson").read_bytes()
    assert _rows(tmp_path / "table") == [(1, "a"), (3, "c")]
    entry = ps.state(tmp_path / "table")["p"]["files"]["b.ndjson"]
    assert len(entry) == 4 and "column 'id'" in entry[3], entry
    # Not retried while it is unchanged; loaded once it is fixed.
    again = ps.run(yaml).report
    assert again["status"] == "no_changes" and "files_skipped" not in again, again
    (src / "b.ndjson").write_text('{"id": 2, "v": "b"}\n{"id": 22, "v": "b"}\n')
    fixed = ps.run(yaml).report
    assert fixed["rows_written"] == 2 and "files_skipped" not in fixed, fixed
    assert _rows(tmp_path / "table") == [(1, "a"), (2, "b"), (3, "c"), (22, "b")]
    assert len(ps.state(tmp_path / "table")["p"]["files"]["b.ndjson"]) == 3


def test_a_run_of_only_bad_files_records_them(tmp_path):
    src = tmp_path / "src"
    ps.write_source(src / "a.ndjson", [{"id": 1, "v": "a"}])
    yaml = _typed_yaml(tmp_path, bad_files="skip")
    ps.run(yaml)
    (src / "b.ndjson").write_text('{"id": "x"}\n')
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_written"] == 0, report
    assert report["files_skipped"][0]["file"].endswith("b.ndjson"), report
    assert "b.ndjson" in ps.state(tmp_path / "table")["p"]["files"]
    assert ps.run(yaml).report["status"] == "no_changes"
    assert _rows(tmp_path / "table") == [(1, "a")]


def test_quarantine_needs_its_directory(tmp_path):
    _bad_source(tmp_path)
    line = ps.run_refused(_typed_yaml(tmp_path, bad_files="quarantine"))
    assert "quarantine_dir" in line, line
