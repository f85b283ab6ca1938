"""Pipelines from Python: loaded from YAML files and dicts, run with typed reports, their
state read and reset, the one-call load, and the same runs as the CLI's."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import inlet


def _drop(landing, name, ids, day="2024-05-01"):
    landing.mkdir(exist_ok=True)
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64()),
                             "modified_date": pa.array([f"{day}T00:00:{i % 60:02d}" for i in ids],
                                                       pa.string()).cast(pa.timestamp("us"))}),
                   landing / name)


def test_a_pipeline_from_a_dict_runs_incrementally(tmp_path):
    _drop(tmp_path / "landing", "a.parquet", [1, 2, 3])
    doc = {"name": "orders",
           "source": {"type": "files", "path": str(tmp_path / "landing"), "format": "parquet"},
           "destination": {"path": str(tmp_path / "out"), "keys": ["id"]},
           "strategy": {"type": "watermark", "cursor": "modified_date"}}
    [p] = inlet.load_pipelines(doc)
    assert (p.name, p.strategy, p.streams) == ("orders", "watermark", False)
    assert p.state() is None
    r = p.run()
    assert isinstance(r, inlet.RunReport)
    assert (r.status, r.rows_written, r.table_version) == ("committed", 3, 0)
    assert r.watermark_after.startswith("2024-05-01T00:00:03")
    assert json.loads(r.to_json())["rows_written"] == 3
    assert p.run().status == "no_changes"
    _drop(tmp_path / "landing", "b.parquet", [4, 5], day="2024-05-02")
    dry = p.run(dry_run=True)
    assert (dry.status, dry.rows_written) == ("dry_run", 2)
    assert p.run().rows_written == 2
    assert p.state()["watermark"].startswith("2024-05-02")
    assert inlet.Table(tmp_path / "out").count() == 5
    p.reset()
    assert p.state() is None


def test_a_yaml_file_and_the_cli_agree(tmp_path):
    _drop(tmp_path / "landing", "a.parquet", [1, 2])
    y = tmp_path / "p.yaml"
    y.write_text(textwrap.dedent("""\
        pipelines:
          - name: files
            source: {type: files, path: landing, format: parquet}
            destination: {path: out}
            strategy: {type: append}
    """))
    [r] = inlet.run(y)
    assert (r.status, r.rows_written, r.files_read) == ("committed", 2, 1)
    _drop(tmp_path / "landing", "b.parquet", [3])
    [r] = inlet.run(y, pipeline="files")
    assert r.rows_written == 1
    assert inlet.Table(tmp_path / "out").pipeline_states()["files"]["run"] == 2


def test_backfill(tmp_path):
    _drop(tmp_path / "landing", "b.parquet", [3, 4], day="2024-05-03")
    doc = {"name": "w", "source": {"type": "files", "path": str(tmp_path / "landing")},
           "destination": {"path": str(tmp_path / "out")},
           "strategy": {"type": "watermark", "cursor": "modified_date"}}
    [p] = inlet.load_pipelines(doc)
    assert p.run().rows_written == 2
    # History arrives later, behind the watermark: only a backfill loads it, once.
    _drop(tmp_path / "landing", "a.parquet", [1, 2], day="2024-05-01")
    assert p.run().status == "no_changes"
    r = p.run(backfill=("2024-05-01T00:00:00", "2024-05-02T00:00:00"))
    assert (r.status, r.rows_written) == ("committed", 2)
    assert p.run(backfill=("2024-05-01T00:00:00", "2024-05-02T00:00:00")).rows_written == 0
    assert p.state()["watermark"].startswith("2024-05-03")
    assert inlet.Table(tmp_path / "out").count() == 4


def test_one_call_load(tmp_path):
    _drop(tmp_path / "landing", "a.parquet", [1, 2, 3])
    r = inlet.load(tmp_path / "landing" / "*.parquet", tmp_path / "warehouse" / "orders",
                   strategy="watermark", cursor="modified_date")
    assert (r.pipeline, r.status, r.rows_written) == ("orders", "committed", 3)
    again = inlet.load(tmp_path / "landing" / "*.parquet", tmp_path / "warehouse" / "orders",
                       strategy="watermark", cursor="modified_date")
    assert again.status == "no_changes"
    r = inlet.load(tmp_path / "landing", tmp_path / "merged", strategy="merge", keys="id")
    assert r.rows_inserted == 3


def test_a_bad_definition_names_its_place(tmp_path):
    y = tmp_path / "p.yaml"
    y.write_text("pipelines:\n  - name: x\n    source: {type: files, path: in}\n"
                 "    destination: {path: out}\n    strategy: {type: watermark}\n")
    with pytest.raises(inlet.InvalidInputError) as e:
        inlet.load_pipelines(y)
    assert "p.yaml:5" in str(e.value) and "cursor" in str(e.value)
    with pytest.raises(inlet.InvalidInputError, match="strateg"):
        inlet.load_pipelines({"name": "x", "source": {"type": "files", "path": "in"},
                              "destination": {"path": "out"}, "strategy": {"type": "nope"}})


def test_a_failed_run_raises_and_leaves_the_table(tmp_path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "a.csv").write_text("id,v\n1,a\n1,b\n")
    doc = {"name": "dups", "source": {"type": "files", "path": str(tmp_path / "landing")},
           "destination": {"path": str(tmp_path / "out"), "keys": ["id"]},
           "strategy": {"type": "append"}, "quality": {"duplicate_keys": "fail"}}
    [p] = inlet.load_pipelines(doc)
    with pytest.raises(inlet.InletError, match="dups") as e:
        p.run()
    assert "duplicate" in str(e.value)
    with pytest.raises(inlet.TableNotFoundError):
        inlet.Table(tmp_path / "out")


def test_ctrl_c_is_honoured(tmp_path):
    """SIGINT during a long call raises KeyboardInterrupt in Python once the engine
    reaches a safe point, and the process exits as Python does on Ctrl-C."""
    script = textwrap.dedent(f"""
        import os, signal, threading, time, pyarrow as pa, inlet
        schema = pa.schema([("id", pa.int64())])
        def batches():
            for i in range(50):
                time.sleep(0.05)
                yield pa.record_batch([pa.array([i], pa.int64())], schema=schema)
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        try:
            inlet.write_table({str(tmp_path / 't')!r}, pa.RecordBatchReader.from_batches(schema, batches()))
        except KeyboardInterrupt:
            print("interrupted")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "interrupted" in out.stdout
    # The write gave up before its commit: the table it would have created is not there.
    with pytest.raises(inlet.TableNotFoundError):
        inlet.Table(tmp_path / "t")
