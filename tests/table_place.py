"""Where a test's tables live: a local directory or a bucket on the MinIO fixture.

Tests that must hold on both take the ``place`` fixture (conftest.py), parametrized over
"local" and "minio", and reach tables only through it: URIs, the inlet CLI with the right
environment, the peer readers with the right credentials, and listings of the files.
"""
from __future__ import annotations

import pathlib
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

import oracle
import support


class TablePlace:
    def __init__(self, kind: str, base: str, fs: pafs.FileSystem, fs_base: str, minio: Any = None):
        self.kind = kind
        self._base = base
        self.fs = fs
        self._fs_base = fs_base
        self.minio = minio
        self.env = minio.env() if minio else {}
        self.storage_options = minio.storage_options() if minio else None
        self.duckdb_s3 = minio.duckdb_s3() if minio else None

    @classmethod
    def local(cls, root: pathlib.Path) -> "TablePlace":
        root.mkdir(parents=True, exist_ok=True)
        return cls("local", str(root), pafs.LocalFileSystem(), str(root))

    @classmethod
    def s3(cls, minio: Any, bucket: str) -> "TablePlace":
        fs = pafs.S3FileSystem(access_key=minio.access_key, secret_key=minio.secret_key,
                               endpoint_override=minio.endpoint, scheme="http", region="us-east-1")
        return cls("minio", f"s3://{bucket}", fs, bucket, minio)

    def uri(self, name: str) -> str:
        return f"{self._base}/{name}"

    def inlet(self, *args: object, **kwargs: Any):
        """support.run_inlet with this place's environment."""
        env = dict(self.env, **kwargs.pop("env", {}))
        return support.run_inlet(*args, env=env, **kwargs)

    def files(self, name: str, sub: str = "") -> dict[str, int]:
        """Every file under the table (or its subdirectory sub): relative path -> size."""
        root = f"{self._fs_base}/{name}"
        base = f"{root}/{sub}".rstrip("/")
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        except FileNotFoundError:
            return {}
        return {i.path[len(root) + 1:]: i.size for i in infos if i.type == pafs.FileType.File}

    def put(self, name: str, rel: str, data: bytes) -> None:
        path = f"{self._fs_base}/{name}/{rel}"
        self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with self.fs.open_output_stream(path) as out:
            out.write(data)

    def read_deltalake(self, name: str, version: int | None = None) -> pa.Table:
        return oracle.read_deltalake(self.uri(name), version, storage_options=self.storage_options)

    def read_duckdb(self, name: str, version: int | None = None) -> pa.Table:
        return oracle.read_duckdb(self.uri(name), version, s3=self.duckdb_s3)

    def delta_table(self, name: str, version: int | None = None):
        from deltalake import DeltaTable
        return DeltaTable(self.uri(name), version=version, storage_options=self.storage_options)
