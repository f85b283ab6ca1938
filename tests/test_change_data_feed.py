"""The change data feed: inlet's cdc files and `inlet changes` against deltalake's load_cdf.

Tables with delta.enableChangeDataFeed=true go through random merges (upserts and deletes),
an append and an overwrite. For every version range, deltalake's load_cdf of inlet's table
and `inlet changes` must hold the same rows.
"""
import random

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq
import pytest

import oracle
import support


def write_parquet(path, rows):
    pq.write_table(pa.table({
        "id": pa.array([r["id"] for r in rows], pa.int64()),
        "grp": pa.array([r["grp"] for r in rows], pa.string()),
        "amount": pa.array([r["amount"] for r in rows], pa.int64()),
        "gone": pa.array([r.get("gone", False) for r in rows], pa.bool_()),
    }), path)


def inlet_changes(run_inlet, table, out, start, end=None):
    args = ["changes", table, "--from-version", str(start), "--output-format", "parquet", "--output", out]
    if end is not None:
        args += ["--to-version", str(end)]
    run_inlet(*args)
    return pq.read_table(out)


def deltalake_changes(table, start, end=None):
    from deltalake import DeltaTable
    kwargs = {"starting_version": start}
    if end is not None:
        kwargs["ending_version"] = end
    return pa.table(DeltaTable(str(table)).load_cdf(**kwargs).read_all())


def comparable(t):
    # _commit_timestamp is compared as an instant; _commit_version is long in Spark and
    # inlet, uint64 in delta-rs: compare the numbers.
    t = t.set_column(t.column_names.index("_commit_version"), "_commit_version",
                     t["_commit_version"].cast(pa.int64()))
    ts = t["_commit_timestamp"].cast(pa.timestamp("us")).cast(pa.int64())
    return t.set_column(t.column_names.index("_commit_timestamp"), "_commit_timestamp", ts)


@pytest.mark.parametrize("partitioned,dv", [(False, False), (True, False), (False, True)])
def test_changes_equal_deltalake_load_cdf(tmp_path, run_inlet, partitioned, dv):
    rng = random.Random(partitioned)
    table = tmp_path / "t"
    first = [{"id": i, "grp": rng.choice("ab"), "amount": i * 10} for i in range(30)]
    write_parquet(tmp_path / "v0.parquet", first)
    args = ["write", table, "--input", tmp_path / "v0.parquet", "--property", "delta.enableChangeDataFeed=true"]
    if dv:  # merges mark changed rows in deletion vectors; the change feed is the same
        args += ["--property", "delta.enableDeletionVectors=true"]
    if partitioned:
        args += ["--partition-by", "grp"]
    # The flag column is not data: the initial write leaves it out.
    pq.write_table(pq.read_table(tmp_path / "v0.parquet").drop_columns(["gone"]), tmp_path / "v0.parquet")
    run_inlet(*args)
    for round_no in range(4):
        rows = [{"id": rng.randrange(45), "grp": rng.choice("ab"), "amount": rng.randrange(1000),
                 "gone": rng.random() < 0.2} for _ in range(15)]
        src = tmp_path / f"m{round_no}.parquet"
        write_parquet(src, rows)
        run_inlet("merge", table, "--input", src, "--keys", "id", "--delete-flag", "gone")
    # An append (changes from its add files) and a full overwrite (from its removes and adds).
    extra = tmp_path / "extra.parquet"
    pq.write_table(pa.table({"id": pa.array([100, 101], pa.int64()), "grp": ["a", "b"],
                             "amount": pa.array([1, 2], pa.int64())}), extra)
    run_inlet("write", table, "--input", extra)
    run_inlet("write", table, "--input", extra, "--mode", "overwrite")
    latest = 6
    # With deletion vectors the overwrite (6) removes files whose DVs hide rows, and
    # deltalake 1.6.6's load_cdf turns such a remove into the rows its DV hides instead of
    # the rows it still holds. There, the feed is checked against what both peers read at
    # version 5: exactly those rows are deleted.
    ranges = [(0, None), (1, 4), (5, 5), (6, 6), (2, None)] if not dv else [(0, 5), (1, 4), (5, 5)]
    for start, end in ranges:
        ours = inlet_changes(run_inlet, table, str(tmp_path / f"c{start}.parquet"), start, end)
        theirs = deltalake_changes(table, start, end)
        oracle.assert_tables_equal(comparable(ours), comparable(theirs), f"changes {start}..{end or latest}")
        assert ours.num_rows > 0
    if dv:
        ours = inlet_changes(run_inlet, table, str(tmp_path / "c6.parquet"), 6, 6)
        deleted = ours.filter(pa.compute.equal(ours["_change_type"], "delete")).select(["id", "grp", "amount"])
        for peer in (oracle.read_deltalake(table, 5), oracle.read_duckdb(table, 5)):
            oracle.assert_tables_equal(deleted, peer.select(["id", "grp", "amount"]), "deletes of version 6")


@pytest.mark.parametrize("missing,dv", [("delete", False), ("soft_delete", False), ("delete", True),
                                        ("soft_delete", True)])
def test_snapshot_merge_changes_equal_deltalake_load_cdf(tmp_path, run_inlet, missing, dv):
    """Snapshot merges (`inlet merge --mode snapshot`): an extract's new rows are inserts, its
    changed rows updates, and the keys it lacks deletes (or updates setting the soft-delete
    flag); unchanged rows are no change at all."""
    rng = random.Random(missing)
    table = tmp_path / "t"
    flag = ["--missing", missing] + (["--soft-delete-column", "gone"] if missing == "soft_delete" else [])
    model = {i: {"id": i, "grp": rng.choice("ab"), "amount": i} for i in range(60)}
    expected_counts = []
    for round_no in range(4):
        if round_no:
            for k in rng.sample(sorted(model), 8):
                del model[k]
            for k in rng.sample(sorted(model), 8):
                model[k] = dict(model[k], amount=model[k]["amount"] + 1000)
            for k in range(100 + 10 * round_no, 104 + 10 * round_no):
                model[k] = {"id": k, "grp": "a", "amount": k}
        src = tmp_path / f"e{round_no}.parquet"
        pq.write_table(pa.table({"id": pa.array(sorted(model), pa.int64()),
                                 "grp": [model[k]["grp"] for k in sorted(model)],
                                 "amount": pa.array([model[k]["amount"] for k in sorted(model)], pa.int64())}), src)
        if round_no == 0:
            args = ["write", table, "--input", src, "--target-file-size", "1",
                    "--property", "delta.enableChangeDataFeed=true"]
            if dv:
                args += ["--property", "delta.enableDeletionVectors=true"]
            run_inlet(*args)
            continue
        run_inlet("merge", table, "--input", src, "--keys", "id", "--mode", "snapshot", "--merge-schema", *flag)
        expected_counts.append({"insert": 4, "update_preimage": 8 + (8 if missing == "soft_delete" else 0),
                                "delete": 8 if missing == "delete" else 0})
    for version, counts in enumerate(expected_counts, start=1):
        ours = inlet_changes(run_inlet, table, str(tmp_path / f"c{version}.parquet"), version, version)
        theirs = deltalake_changes(table, version, version)
        oracle.assert_tables_equal(comparable(ours), comparable(theirs), f"changes of version {version}")
        types = ours["_change_type"].to_pylist()
        got = {t: types.count(t) for t in ("insert", "update_preimage", "update_postimage", "delete")}
        assert got == dict(counts, update_postimage=counts["update_preimage"]), (version, got)


def test_merge_writes_cdc_actions(tmp_path, run_inlet):
    table = tmp_path / "t"
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64()), "v": ["a", "b"]}), tmp_path / "a.parquet")
    run_inlet("write", table, "--input", tmp_path / "a.parquet", "--property", "delta.enableChangeDataFeed=true")
    pq.write_table(pa.table({"id": pa.array([2, 3], pa.int64()), "v": ["B", "c"]}), tmp_path / "b.parquet")
    run_inlet("merge", table, "--input", tmp_path / "b.parquet", "--keys", "id")
    import json
    lines = [json.loads(l) for l in (table / "_delta_log" / "00000000000000000001.json").read_text().splitlines()]
    cdcs = [l["cdc"] for l in lines if "cdc" in l]
    assert cdcs and all(c["path"].startswith("_change_data/") and c["dataChange"] is False for c in cdcs)
    protocol = [l["protocol"] for l in (json.loads(x) for x in (table / "_delta_log" / "00000000000000000000.json").read_text().splitlines()) if "protocol" in l][0]
    assert protocol["minWriterVersion"] >= 4


def test_changes_of_a_missing_version_fail(tmp_path, run_inlet):
    table = tmp_path / "t"
    pq.write_table(pa.table({"id": pa.array([1], pa.int64())}), tmp_path / "a.parquet")
    run_inlet("write", table, "--input", tmp_path / "a.parquet")
    proc = run_inlet("changes", table, "--from-version", "3", check=False)
    support.check_refusal(proc)


def test_changes_without_the_change_data_feed_are_refused_unless_file_level(tmp_path, run_inlet):
    """Issue 20, item 3.3: a table without delta.enableChangeDataFeed printed a file-level
    diff marking unchanged rows as deleted and inserted again. Refused, as Spark does."""
    table = tmp_path / "t"
    pq.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64()), "v": ["a", "b", "c"]}), tmp_path / "a.parquet")
    run_inlet("write", table, "--input", tmp_path / "a.parquet")
    pq.write_table(pa.table({"id": pa.array([2], pa.int64()), "v": ["B"]}), tmp_path / "b.parquet")
    run_inlet("merge", table, "--input", tmp_path / "b.parquet", "--keys", "id")
    line = support.check_refusal(run_inlet("changes", table, "--from-version", "1", check=False))
    assert "version 1 was written without the change data feed" in line and "--file-level" in line, line
    # Asked for explicitly: the file-level reading, unchanged rows 1 and 3 included.
    rows = run_inlet("changes", table, "--from-version", "1", "--file-level",
                     "--output-format", "ndjson").stdout.splitlines()
    import json
    kinds = sorted((json.loads(r)["id"], json.loads(r)["_change_type"]) for r in rows)
    assert kinds == [(1, "delete"), (1, "insert"), (2, "delete"), (2, "insert"), (3, "delete"), (3, "insert")]
    # Enabled from version 2 on: versions from 2 are read, earlier ones still refused.
    run_inlet("alter", table, "--property", "delta.enableChangeDataFeed=true")  # version 2
    run_inlet("merge", table, "--input", tmp_path / "a.parquet", "--keys", "id")
    got = inlet_changes(run_inlet, table, tmp_path / "c.parquet", 2)
    assert sorted(got.column("_change_type").to_pylist()) == ["update_postimage"] * 3 + ["update_preimage"] * 3
    def triples(t):
        return sorted(zip(t.column("id").to_pylist(), t.column("v").to_pylist(),
                          t.column("_change_type").to_pylist(), t.column("_commit_version").to_pylist()))
    assert triples(got) == triples(deltalake_changes(table, 2))
    support.check_refusal(run_inlet("changes", table, "--from-version", "0", check=False))
