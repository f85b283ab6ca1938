"""Concurrent appends from several processes: every commit lands once, none is lost.

The table is created by one write (version 0); then WORKERS processes each run
`inlet write` APPENDS_PER_WORKER times at once, each append carrying its own small Parquet
file with distinct ids. Appends never conflict logically, so all must succeed (retrying
on a lost put-if-absent race is the engine's job), and the log must end up holding
versions 0..WORKERS*APPENDS_PER_WORKER with no gap, each commit a JSON file, each row of
every input present exactly once, and no temporary files left behind.
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import support

pytestmark = pytest.mark.slow

WORKERS = 4
APPENDS_PER_WORKER = 50
ROWS_PER_APPEND = 2
TIMEOUT_S = 600

# A worker: wait for the start signal, then append each file in turn; stop at the first
# failure so that its stderr is the last thing it printed.
WORKER_SH = r"""
set -u
bin=$1; table=$2; go=$3; shift 3
while [ ! -e "$go" ]; do sleep 0.01; done
for f in "$@"; do
  if ! "$bin" write "$table" --input "$f" --input-format parquet --mode append; then
    echo "worker failed on $f" >&2
    exit 1
  fi
done
"""

ALLOWED_LOG_FILE = re.compile(
    r"^(\d{20}\.json"  # commits
    r"|\d{20}\.checkpoint(\.\d{10}\.\d{10})?\.parquet"  # classic / multi-part checkpoints
    r"|\d{20}\.checkpoint\.[0-9a-fA-F-]{36}\.(json|parquet)"  # V2 checkpoints
    r"|\d{20}\.crc"  # version checksums
    r"|_last_checkpoint)$"
)


def _batch(worker: int, seq: int) -> pa.Table:
    base = worker * 1_000_000 + seq * 1_000
    return pa.table(
        {
            "id": pa.array([base + k for k in range(ROWS_PER_APPEND)], pa.int64()),
            "worker": pa.array([worker] * ROWS_PER_APPEND, pa.int32()),
            "seq": pa.array([seq] * ROWS_PER_APPEND, pa.int32()),
        }
    )


def test_concurrent_appends(tmp_path, inlet_bin):
    table = tmp_path / "table"
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    seed = _batch(9, 0)
    support.write(table, seed, work_dir=tmp_path / "seed")
    assert sorted(p.name for p in (table / "_delta_log").glob("*.json")) == [f"{0:020d}.json"]

    files: dict[int, list[str]] = {}
    expected_tables = [seed]
    for w in range(WORKERS):
        files[w] = []
        for seq in range(APPENDS_PER_WORKER):
            batch = _batch(w, seq)
            path = inputs / f"w{w}-{seq:03d}.parquet"
            pq.write_table(batch, path)
            files[w].append(str(path))
            expected_tables.append(batch)
    expected = pa.concat_tables(expected_tables)

    go = tmp_path / "go"
    procs = []
    for w in range(WORKERS):
        procs.append(
            subprocess.Popen(
                ["bash", "-c", WORKER_SH, f"worker{w}", str(inlet_bin), str(table), str(go), *files[w]],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    go.touch()
    deadline = time.monotonic() + TIMEOUT_S
    failures = []
    for w, proc in enumerate(procs):
        try:
            _, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for p in procs:
                if p.poll() is None:
                    p.kill()
            pytest.fail(f"concurrent appends did not finish within {TIMEOUT_S}s")
        if proc.returncode != 0:
            failures.append(f"worker {w} exit {proc.returncode}: {err.strip()[-1500:]}")
    assert not failures, "concurrent appends failed:\n" + "\n".join(failures)

    total = WORKERS * APPENDS_PER_WORKER
    log = table / "_delta_log"

    # Versions 0..total, contiguous, each a JSON commit.
    commit_versions = oracle.commit_versions(table)
    assert commit_versions == list(range(total + 1)), (
        f"commit versions are not 0..{total}: missing "
        f"{sorted(set(range(total + 1)) - set(commit_versions))[:20]}, "
        f"unexpected {sorted(set(commit_versions) - set(range(total + 1)))[:20]}"
    )
    for v in range(1, total + 1):
        actions = [json.loads(line) for line in (log / f"{v:020d}.json").read_text().splitlines() if line.strip()]
        adds = [a for a in actions if "add" in a]
        assert adds, f"commit {v} has no add action"
        assert not [a for a in actions if "remove" in a], f"an append (commit {v}) removed files"

    # Nothing left over from the commit races: no temporary or stray files in the log.
    stray = [
        str(p.relative_to(log))
        for p in log.rglob("*")
        if p.is_file() and not ALLOWED_LOG_FILE.match(p.name)
    ]
    assert not stray, f"leftover files in _delta_log: {stray[:20]}"

    # Every row exactly once, per deltalake and per inlet.
    oracle.assert_tables_equal(oracle.read_deltalake(table), expected, "deltalake after concurrent appends")
    got = support.scan(table, out_dir=tmp_path / "out")
    oracle.assert_tables_equal(got, expected, "inlet scan after concurrent appends")

    # Each version adds exactly one input's rows on top of the previous one.
    from deltalake import DeltaTable, QueryBuilder

    dt = DeltaTable(str(table))
    seen: collections.Counter = collections.Counter()
    for v in range(total + 1):
        dt.load_as_version(v)
        rows = pa.table(QueryBuilder().register("t", dt).execute("SELECT id FROM t").read_all())
        ids = collections.Counter(rows["id"].to_pylist())
        added = ids - seen
        assert not seen - ids, f"version {v} lost rows of earlier versions"
        assert sum(added.values()) == ROWS_PER_APPEND, f"version {v} added {sum(added.values())} rows"
        seen = ids
