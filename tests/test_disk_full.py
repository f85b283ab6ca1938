"""A full disk, in the middle of writing data and in the middle of a commit.

The table lives on a tmpfs of its own, mounted small (root is needed, as in CI). A run that
meets ENOSPC must fail with one clear error naming the file it could not write, exit
non-zero, and leave the table exactly as it was (same log or metadata files, same rows in
the peer readers); once there is room again, the next run completes and the table is what
the model says: nothing lost, nothing doubled.
"""
from __future__ import annotations

import os
import pathlib
import random
import signal
import subprocess

import pytest

import crash_campaign as cc
import pipeline_support as ps
import support

pytestmark = pytest.mark.slow

FORMATS = ["delta", "iceberg"]


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs mounted at tmp_path/disk; resize(megabytes) changes its size."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        if support.in_ci():
            pytest.fail(f"cannot mount a tmpfs (CI runs as root): {proc.stderr}")
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")

    class Disk:
        path = mount

        @staticmethod
        def resize(megabytes: int) -> None:
            subprocess.run(["mount", "-o", f"remount,size={megabytes}m", str(mount)], check=True)

        @staticmethod
        def fill() -> pathlib.Path:
            """Takes every free byte; returns the filler file."""
            filler = mount / "filler"
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            try:
                for size in (1 << 20, 65536, 4096, 512, 1):
                    try:
                        while True:
                            os.write(fd, b"\0" * size)
                    except OSError:
                        continue
            finally:
                os.close(fd)
            return filler

    yield Disk
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _rows(rng, start, n):
    # Random text does not compress: n rows take about n * 200 bytes in Parquet.
    return [{**cc.row(i, rng.random() * 100, i / 10), "name": os.urandom(100).hex()} for i in range(start, start + n)]


def _rig(tmp_path, disk, table_format):
    dest_extra, _ = cc.TABLE_FORMATS[table_format]
    table = disk.path / "t"
    p = {"name": "p", "source": {"type": "files", "path": str(tmp_path / "src" / "*.parquet"),
                                 "format": "parquet"},
         "destination": {"path": str(table), **dest_extra}, "strategy": {"type": "append"}}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    return yaml, table


def _table_files(table: pathlib.Path) -> dict[str, bytes]:
    """The files that make the table's state: its Delta log, or its Iceberg metadata files
    and version hint. (Files a failed run wrote and nothing references, data files and
    Iceberg manifests, are orphans, as after a crash: `inlet vacuum` removes them.)"""
    if (table / "metadata").exists():
        files = [p for p in (table / "metadata").glob("*") if p.name.endswith(".metadata.json")
                 or p.name == "version-hint.text"]
    else:
        files = list((table / "_delta_log").glob("*"))
    return {p.name: p.read_bytes() for p in sorted(files) if p.is_file() and not p.name.startswith(".")}


def _check(table, table_format, rows, context):
    """The peer readers read exactly rows."""
    from table_place import TablePlace
    place = cc.Place(TablePlace.local(table.parent))
    want = cc.canonical(rows, list(cc.SCHEMA), cc.SCHEMA)
    for reader, read in place.readers(table_format).items():
        got = cc.canonical_of(read(table.name), list(cc.SCHEMA))
        assert got == want, f"{context}: {reader}: {cc.describe_difference(got, want)}"


def _loaded_then_more(tmp_path, disk, table_format, n_first, n_second):
    """A table on the disk loaded with n_first rows (file a), and file b of n_second more
    rows waiting in the source; the table's files as they are."""
    rng = random.Random(n_first)
    yaml, table = _rig(tmp_path, disk, table_format)
    first = _rows(rng, 0, n_first)
    ps.write_source(tmp_path / "src" / "a.parquet", first, schema=cc.SCHEMA)
    ps.run(yaml)
    second = _rows(rng, n_first, n_second)
    ps.write_source(tmp_path / "src" / "b.parquet", second, schema=cc.SCHEMA)
    return yaml, table, _table_files(table), first, second


def _failed_then_completes(proc, yaml, table, table_format, before, first, second, room):
    """proc failed on the full disk: one error naming the table's file, the table as it was;
    then, with room again, the next run loads the second file once."""
    line = support.check_refusal(proc)
    assert "No space left on device" in line and str(table) in line, line
    assert ps.parse_reports(proc.stdout)[0]["status"] == "failed", proc.stdout
    assert _table_files(table) == before, "the table changed"
    _check(table, table_format, first, "after ENOSPC")
    room()
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_written"] == len(second), report
    _check(table, table_format, first + second, "after the run that had room")


@pytest.mark.parametrize("table_format", FORMATS)
def test_disk_full_while_writing_data(tmp_path, small_disk, table_format):
    # Then 60,000 rows of incompressible text: about 12 MB, on a disk with 4 MB left.
    yaml, table, before, first, second = _loaded_then_more(tmp_path, small_disk, table_format, 2000, 60000)
    used = sum(p.stat().st_size for p in small_disk.path.rglob("*") if p.is_file())
    small_disk.resize(max(1, (used >> 20) + 4))
    proc = ps.cli("run", yaml, "--json", check=False)
    _failed_then_completes(proc, yaml, table, table_format, before, first, second,
                           room=lambda: small_disk.resize(256))


@pytest.mark.parametrize("table_format", FORMATS)
def test_disk_full_in_the_middle_of_a_commit(tmp_path, small_disk, table_format):
    """The data files are written; then, stopped just before the commit writes the log
    (Delta) or the metadata file (Iceberg), the disk fills up."""
    yaml, table, before, first, second = _loaded_then_more(tmp_path, small_disk, table_format, 500, 500)
    proc = ps.popen("run", yaml, "--json", env={"INLET_STOP_AT": "commit.before_log_write"})
    try:
        support.wait_stopped(proc.pid)
        filler = small_disk.fill()
        proc.send_signal(signal.SIGCONT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    _failed_then_completes(done, yaml, table, table_format, before, first, second, room=filler.unlink)
