"""A real Apache Kafka broker on loopback for the streaming tests.

One process in KRaft mode (broker and controller combined), from the jars that
scripts/bootstrap.sh fetched with Maven ($HOME/.cache/inlet/kafka-<version>, or
INLET_KAFKA_DIR), with its own log directory and free ports. Topics are created per test
through the admin API of confluent-kafka (librdkafka), which also produces the test
messages. The broker can be stopped and started again on the same ports and data
(restart()), as in an outage.
"""
from __future__ import annotations

import base64
import os
import pathlib
import re
import secrets
import socket
import subprocess
import time

REPO = pathlib.Path(__file__).resolve().parents[1]


def _kafka_version() -> str:
    pom = (REPO / "scripts" / "kafka" / "pom.xml").read_text()
    return re.search(r"<kafka.version>(.*)</kafka.version>", pom).group(1)


def kafka_libs() -> pathlib.Path:
    default = pathlib.Path.home() / ".cache" / "inlet" / f"kafka-{_kafka_version()}"
    return pathlib.Path(os.environ.get("INLET_KAFKA_DIR", default))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SASL_USER = "inlet"
SASL_PASSWORD = "k4fka-Secr3t"


class KafkaServer:
    def __init__(self, root: pathlib.Path):
        self.root = root
        self.port = _free_port()
        self.sasl_port = _free_port()
        self.controller_port = _free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        # A second listener that wants SASL/PLAIN: user SASL_USER, password SASL_PASSWORD.
        self.sasl_bootstrap = f"127.0.0.1:{self.sasl_port}"
        self.proc: subprocess.Popen | None = None
        self._classpath = str(kafka_libs() / "*")
        self._config = root / "server.properties"

    def _java(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["java", "-cp", self._classpath, *args], capture_output=True, text=True,
                              timeout=120, **kw)

    def start(self) -> "KafkaServer":
        if not (kafka_libs()).is_dir():
            raise RuntimeError(f"Kafka jars not found in {kafka_libs()} (run scripts/bootstrap.sh)")
        logs = self.root / "data"
        if not self._config.exists():
            self._config.write_text("\n".join([
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
                "sasl.enabled.mechanisms=PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config="
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'user_{SASL_USER}="{SASL_PASSWORD}";',
                f"log.dirs={logs}",
                "num.partitions=1",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.flush.interval.messages=1",  # an outage of the process loses nothing acknowledged
                "",
            ]))
            (self.root / "log4j.properties").write_text("\n".join([
                "log4j.rootLogger=WARN, file",
                "log4j.appender.file=org.apache.log4j.FileAppender",
                f"log4j.appender.file.File={self.root / 'server.log'}",
                "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
                "",
            ]))
            # A KRaft cluster id is 16 bytes in URL-safe base64 (22 characters).
            cluster = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
            r = self._java(f"-Dlog4j.configuration=file:{self.root / 'log4j.properties'}",
                           "kafka.tools.StorageTool", "format", f"--cluster-id={cluster}",  # it may start with '-'
                           "-c", str(self._config))
            if r.returncode != 0:
                raise RuntimeError(f"formatting Kafka storage failed: {r.stderr or r.stdout}")
        log = open(self.root / "stdout.log", "ab")
        self.proc = subprocess.Popen(
            ["java", "-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             f"-Dlog4j.configuration=file:{self.root / 'log4j.properties'}",
             "-cp", self._classpath, "kafka.Kafka", str(self._config)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 90) -> None:
        from confluent_kafka.admin import AdminClient
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("Kafka did not start: " + self._log_tail())
            try:
                # The port first, so that the client does not log refused connections.
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                md = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0}).list_topics(timeout=2)
                if md.brokers:
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if time.time() > deadline:
                raise RuntimeError("Kafka did not become ready: " + self._log_tail())
            time.sleep(0.3)

    def _log_tail(self) -> str:
        text = ""
        for name in ("stdout.log", "server.log"):
            p = self.root / name
            if p.exists():
                text += p.read_text(errors="replace")[-2000:]
        return text

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, down_seconds: float = 0.0, kill: bool = False) -> None:
        self.stop(kill=kill)
        time.sleep(down_seconds)
        self.start()

    # -- topics and messages -------------------------------------------------------------

    def create_topic(self, name: str, partitions: int = 1) -> str:
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        fs[name].result(timeout=30)
        deadline = time.time() + 30
        while True:  # metadata of every partition, so that producers do not race the creation
            md = admin.list_topics(name, timeout=5).topics.get(name)
            if md and not md.error and len(md.partitions) == partitions and \
                    all(p.leader >= 0 for p in md.partitions.values()):
                return name
            if time.time() > deadline:
                raise RuntimeError(f"topic {name} did not become ready")
            time.sleep(0.1)

    def produce(self, topic: str, messages, partition: int | None = None) -> int:
        """Produces (key, value[, headers]) tuples or plain values (bytes, str or None);
        waits until every one is acknowledged. Returns the count."""
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 5,
                      "enable.idempotence": True})
        errors: list[str] = []

        def done(err, _msg):
            if err is not None:
                errors.append(str(err))

        n = 0
        for m in messages:
            key, value, headers = None, m, None
            if isinstance(m, tuple):
                key, value = m[0], m[1]
                headers = m[2] if len(m) > 2 else None
            kwargs = {"key": key, "value": value, "headers": headers, "on_delivery": done}
            if partition is not None:
                kwargs["partition"] = partition
            while True:
                try:
                    p.produce(topic, **kwargs)
                    break
                except BufferError:
                    p.poll(0.1)
            n += 1
            if n % 10000 == 0:
                p.poll(0)
        if p.flush(60) != 0:
            raise RuntimeError("messages not acknowledged in time")
        if errors:
            raise RuntimeError(f"produce failed: {errors[:3]}")
        return n

    def end_offsets(self, topic: str) -> dict[int, int]:
        """The next offset of every partition (the count of messages ever written)."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "inlet-tests-watermarks"})
        try:
            md = c.list_topics(topic, timeout=10).topics[topic]
            return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in md.partitions}
        finally:
            c.close()

    def committed(self, group: str, topic: str) -> dict[int, int]:
        """The offsets a consumer group committed to Kafka (-1001: none)."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group})
        try:
            md = c.list_topics(topic, timeout=10).topics[topic]
            parts = c.committed([TopicPartition(topic, p) for p in md.partitions], timeout=10)
            return {tp.partition: tp.offset for tp in parts}
        finally:
            c.close()
