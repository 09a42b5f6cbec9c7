#!/usr/bin/env python3
"""A local Kafka cluster for tests and demos: librdkafka's mock cluster, served on 127.0.0.1.

Debian ships no Kafka broker, but librdkafka (librdkafka-dev) carries a mock cluster that speaks
the real protocol, consumer groups and rebalances included, on real TCP ports. This process
hosts one and keeps it up until SIGTERM or SIGINT, so that separate processes (several
`vasdk run` nodes) can join one consumer group through it.

    python3 scripts/kafka_mock.py --brokers 3 --topic vasdk.channels --partitions 8

prints `kafka_mock ready <bootstrap servers>` once the topic exists, then waits.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from cffi import FFI

_CDEF = """
typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;
typedef enum { RD_KAFKA_PRODUCER, RD_KAFKA_CONSUMER } rd_kafka_type_t;
rd_kafka_conf_t *rd_kafka_conf_new(void);
int rd_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                      char *errstr, size_t errstr_size);
rd_kafka_t *rd_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr,
                         size_t errstr_size);
void rd_kafka_destroy(rd_kafka_t *rk);
rd_kafka_mock_cluster_t *rd_kafka_mock_cluster_new(rd_kafka_t *rk, int broker_cnt);
void rd_kafka_mock_cluster_destroy(rd_kafka_mock_cluster_t *mcluster);
const char *rd_kafka_mock_cluster_bootstraps(const rd_kafka_mock_cluster_t *mcluster);
int rd_kafka_mock_topic_create(rd_kafka_mock_cluster_t *mcluster, const char *topic,
                               int partition_cnt, int replication_factor);
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brokers", type=int, default=3, help="mock brokers (default 3)")
    ap.add_argument("--topic", action="append", default=[], help="topic to create (repeatable)")
    ap.add_argument("--partitions", type=int, default=8, help="partitions per topic (default 8)")
    args = ap.parse_args()

    ffi = FFI()
    ffi.cdef(_CDEF)
    try:
        lib = ffi.dlopen("librdkafka.so.1")
    except OSError as e:
        print(f"kafka_mock: cannot load librdkafka.so.1 ({e}); apt-get install librdkafka1", file=sys.stderr)
        return 1
    err = ffi.new("char[512]")
    conf = lib.rd_kafka_conf_new()
    # A client that only hosts the cluster: it never connects anywhere itself.
    lib.rd_kafka_conf_set(conf, b"log_level", b"4", err, 512)
    rk = lib.rd_kafka_new(lib.RD_KAFKA_PRODUCER, conf, err, 512)
    if rk == ffi.NULL:
        print(f"kafka_mock: {ffi.string(err).decode()}", file=sys.stderr)
        return 1
    cluster = lib.rd_kafka_mock_cluster_new(rk, args.brokers)
    if cluster == ffi.NULL:
        print("kafka_mock: cannot create the mock cluster", file=sys.stderr)
        return 1
    for topic in args.topic or ["vasdk.channels"]:
        rc = lib.rd_kafka_mock_topic_create(cluster, topic.encode(), args.partitions, 1)
        if rc != 0:
            print(f"kafka_mock: cannot create topic {topic} (error {rc})", file=sys.stderr)
            return 1
    bootstraps = ffi.string(lib.rd_kafka_mock_cluster_bootstraps(cluster)).decode()
    print(f"kafka_mock ready {bootstraps}", flush=True)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(1.0):
        pass
    lib.rd_kafka_mock_cluster_destroy(cluster)
    lib.rd_kafka_destroy(rk)
    return 0


if __name__ == "__main__":
    sys.exit(main())
