"""One AWS credential chain for every S3 request (issue 20, item 3.4), against MinIO.

The chain's steps that can run on loopback are tested: the environment, a profile of the
shared credentials file, credential_process, and a role assumed through STS (MinIO serves
AssumeRole at its endpoint) with a source profile. Each writes a table (data files and the
conditional PUT of the commit with the same credentials) that deltalake then reads. A step
that is configured but does not work fails before anything is written, naming the step,
never a secret.
"""
from __future__ import annotations

import json
import stat

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import support


def _input(tmp_path) -> object:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64())}), path)
    return path


def _env(minio, **extra) -> dict:
    """No keys in the environment: only the endpoint and the files given."""
    env = {"AWS_ENDPOINT_URL": minio.endpoint, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": ""}
    env.update(extra)
    return env


def _write_and_read(tmp_path, minio, bucket, env, name) -> None:
    uri = f"s3://{bucket}/{name}"
    proc = support.run_inlet("write", uri, "--input", _input(tmp_path), "--json", env=env)
    assert json.loads(proc.stdout)["version"] == 0
    for secret in (minio.secret_key,):
        assert secret not in proc.stdout + proc.stderr
    from deltalake import DeltaTable
    dt = DeltaTable(uri, storage_options=minio.storage_options())
    assert sorted(dt.to_pyarrow_table()["id"].to_pylist()) == [1, 2, 3]


def test_a_profile_of_the_credentials_file(tmp_path, minio, s3_bucket):
    creds = tmp_path / "credentials"
    creds.write_text(f"[other]\naws_access_key_id = nope\naws_secret_access_key = nope\n"
                     f"[loader]\naws_access_key_id = {minio.access_key}\n"
                     f"aws_secret_access_key = {minio.secret_key}\n")
    env = _env(minio, AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_PROFILE="loader")
    _write_and_read(tmp_path, minio, s3_bucket, env, "profile")


def test_credential_process(tmp_path, minio, s3_bucket):
    script = tmp_path / "creds.sh"
    script.write_text("#!/bin/sh\n" + "echo '" + json.dumps(
        {"Version": 1, "AccessKeyId": minio.access_key, "SecretAccessKey": minio.secret_key}) + "'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    config = tmp_path / "config"
    config.write_text(f"[default]\ncredential_process = {script}\n")
    _write_and_read(tmp_path, minio, s3_bucket, _env(minio, AWS_CONFIG_FILE=str(config)), "process")


def test_a_role_assumed_through_sts(tmp_path, minio, s3_bucket):
    creds = tmp_path / "credentials"
    creds.write_text(f"[base]\naws_access_key_id = {minio.access_key}\n"
                     f"aws_secret_access_key = {minio.secret_key}\n")
    config = tmp_path / "config"
    config.write_text("[profile loader]\nrole_arn = arn:aws:iam::123456789012:role/inlet-loader\n"
                      "source_profile = base\nrole_session_name = inlet-test\n")
    env = _env(minio, AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_CONFIG_FILE=str(config),
               AWS_PROFILE="loader")
    _write_and_read(tmp_path, minio, s3_bucket, env, "assumed")
    # With a wrong source secret the role cannot be assumed: the run fails before it
    # writes anything, naming the step.
    creds.write_text(f"[base]\naws_access_key_id = {minio.access_key}\naws_secret_access_key = wrong\n")
    uri = f"s3://{s3_bucket}/refused"
    line = support.check_refusal(
        support.run_inlet("write", uri, "--input", _input(tmp_path), env=env, check=False))
    assert "assumed role (profile loader)" in line and "STS" in line, line
    assert "wrong" not in line and minio.secret_key not in line
    from deltalake import DeltaTable
    with pytest.raises(Exception):
        DeltaTable(uri, storage_options=minio.storage_options())


def test_unusable_profiles_are_named(tmp_path, minio, s3_bucket):
    config = tmp_path / "config"
    config.write_text("[profile sso]\nsso_start_url = https://example.awsapps.com/start\n"
                      "sso_account_id = 1\nsso_role_name = r\n"
                      "[profile broken]\ncredential_process = /bin/false\n")
    for profile, needle in (("sso", "credential_process = aws configure export-credentials"),
                            ("broken", "credential process of AWS profile 'broken'"),
                            ("nosuch", "AWS profile 'nosuch' (AWS_PROFILE) is in neither")):
        env = _env(minio, AWS_CONFIG_FILE=str(config), AWS_PROFILE=profile)
        line = support.check_refusal(support.run_inlet(
            "write", f"s3://{s3_bucket}/{profile}", "--input", _input(tmp_path), env=env, check=False))
        assert needle in line, line


def test_a_hung_credential_process_is_stopped(tmp_path, minio, s3_bucket):
    import time
    config = tmp_path / "config"
    config.write_text("[default]\ncredential_process = sleep 30\n")
    env = _env(minio, AWS_CONFIG_FILE=str(config), INLET_CREDENTIAL_PROCESS_TIMEOUT_S="1")
    started = time.monotonic()
    line = support.check_refusal(support.run_inlet(
        "write", f"s3://{s3_bucket}/hung", "--input", _input(tmp_path), env=env, check=False))
    assert "no answer in 1 s" in line, line
    assert time.monotonic() - started < 15


def test_temporary_credentials_are_renewed_in_a_long_stream(tmp_path, minio, s3_bucket, kafka, kafka_topic):
    """A stream writing to S3 outlives its temporary credentials: five minutes before they
    expire the table's file system and commits take fresh ones from the chain. Here
    credential_process hands out keys that expire in 302 s, so renewal is due after 2 s;
    the process counts its calls."""
    import time

    import pipeline_support as ps
    calls = tmp_path / "calls"
    script = tmp_path / "creds.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"echo call >> {calls}\n"
        "exp=$(date -u -d '+302 seconds' +%Y-%m-%dT%H:%M:%SZ)\n"
        f"printf '{{\"Version\": 1, \"AccessKeyId\": \"{minio.access_key}\", "
        f"\"SecretAccessKey\": \"{minio.secret_key}\", \"Expiration\": \"%s\"}}\\n' \"$exp\"\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    config = tmp_path / "config"
    config.write_text(f"[default]\ncredential_process = {script}\n")
    kafka.create_topic(kafka_topic, 1)
    uri = f"s3://{s3_bucket}/stream"
    yaml = ps.write_pipelines(tmp_path / "s.yaml", {
        "name": "renew", "source": {"type": "kafka", "brokers": kafka.bootstrap, "topic": kafka_topic},
        "destination": {"path": uri}, "strategy": {"type": "append"},
        "processing": {"flush_rows": 5, "flush_interval": "200ms"}})
    kafka.produce(kafka_topic, [(b"k", json.dumps({"id": i}).encode()) for i in range(5)])
    proc = ps.popen("stream", yaml, "--idle-exit", 6, env=_env(minio, AWS_CONFIG_FILE=str(config)))
    time.sleep(4)
    kafka.produce(kafka_topic, [(b"k", json.dumps({"id": i}).encode()) for i in range(5, 10)])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert minio.secret_key not in out + err
    from deltalake import DeltaTable
    ids = DeltaTable(uri, storage_options=minio.storage_options()).to_pyarrow_table()["id"].to_pylist()
    assert sorted(ids) == list(range(10))
    assert len(calls.read_text().splitlines()) >= 2, "the credentials were never renewed"
