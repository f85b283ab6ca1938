"""Errors as Python exceptions: one class per kind, inlet's message, the table unchanged."""
from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

import inlet


def test_no_table_is_a_table_not_found_error(tmp_path):
    with pytest.raises(inlet.TableNotFoundError) as e:
        inlet.Table(tmp_path / "nothing")
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, inlet.InletError)
    assert str(tmp_path / "nothing") in str(e.value)


def test_data_that_does_not_fit_is_a_schema_mismatch_and_commits_nothing(tmp_path):
    t = inlet.write_table(tmp_path / "t", pa.table({"id": pa.array([1], pa.int64())}))
    with pytest.raises(inlet.SchemaMismatchError) as e:
        t.write(pa.table({"id": pa.array([1]), "extra": ["x"]}))
    assert "extra" in str(e.value) and isinstance(e.value, ValueError)
    assert t.version == 0
    t.write(pa.table({"id": pa.array([2]), "extra": ["x"]}), merge_schema=True)
    assert t.schema().names == ["id", "extra"]


def test_bad_options_are_invalid_input_naming_the_option(tmp_path):
    t = inlet.write_table(tmp_path / "t", pa.table({"id": [1]}))
    with pytest.raises(inlet.InvalidInputError, match="unknown write mode 'upsert'"):
        t.write(pa.table({"id": [2]}), mode="upsert")
    with pytest.raises(inlet.InvalidInputError, match="unknown merge mode 'upsrt'.*upsert"):
        t.merge(pa.table({"id": [2]}), keys="id", mode="upsrt")
    with pytest.raises(inlet.InvalidInputError, match="nope"):
        t.scan(where="nope ~ 3")
    with pytest.raises(inlet.InvalidInputError, match="at most one of version, as_of and ref"):
        t.scan(version=0, as_of="2024-01-01T00:00:00Z")
    with pytest.raises(inlet.InvalidInputError, match="version 7"):
        t.scan(version=7)


def test_data_without_the_arrow_protocol_is_a_type_error(tmp_path):
    t = inlet.write_table(tmp_path / "t", pa.table({"id": [1]}))
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        t.write(object())


def test_openssl_users_load_beside_the_engine():
    """pyarrow's libparquet exports the OpenSSL it bundles; Python's hashlib and ssl,
    loaded after inlet, must still bind to the system's (this crashed once)."""
    code = ("import inlet, hashlib, ssl; "
            "print(hashlib.sha256(b'x').hexdigest()[:8], ssl.create_default_context() is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2d711642", "True"]
