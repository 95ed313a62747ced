"""kafka-python side of the interop tests (run with Debian's /usr/bin/python3).

  codecs                                   print the compression codecs this kafka-python can use
  produce BOOTSTRAP TOPIC CODEC FILE       produce FILE's records (JSON lines {"k","v","h"}) with
                                           acks=all; print one delivery report per record
  consume BOOTSTRAP TOPIC PARTITIONS N SECONDS
                                           assign every partition, seek to the beginning, read
                                           until N records or SECONDS pass; print the records,
                                           then the earliest and latest offsets
  group BOOTSTRAP TOPIC GROUP N SECONDS    subscribe with a consumer group (auto-commit), read until N
                                           records or SECONDS pass; print the records
Output is JSON lines on stdout.
"""
import json
import sys
import time

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka import codec as kcodec


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")


def codecs():
    avail = ["none", "gzip"]
    if kcodec.has_snappy():
        avail.append("snappy")
    if kcodec.has_lz4():
        avail.append("lz4")
    if kcodec.has_zstd():
        avail.append("zstd")
    emit({"version": kafka.__version__, "codecs": avail})


def produce(bootstrap, topic, codec, path):
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        compression_type=None if codec == "none" else codec,
        linger_ms=5,
        batch_size=64 * 1024,
        retries=0,
        request_timeout_ms=30000,
    )
    futures = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            headers = [(k, v.encode()) for k, v in r["h"]]
            futures.append(producer.send(topic, key=r["k"].encode(), value=r["v"].encode(), headers=headers))
    producer.flush(timeout=60)
    for fut in futures:
        md = fut.get(timeout=60)
        emit({"p": md.partition, "o": md.offset})
    producer.close(timeout=10)


def consume(bootstrap, topic, partitions, want, seconds):
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
    )
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    n = 0
    deadline = time.time() + seconds
    while n < want and time.time() < deadline:
        batches = consumer.poll(timeout_ms=500, max_records=5000)
        for tp, msgs in sorted(batches.items(), key=lambda kv: kv[0].partition):
            for m in msgs:
                emit({
                    "p": m.partition, "o": m.offset,
                    "k": m.key.decode() if m.key is not None else None,
                    "v": m.value.decode() if m.value is not None else None,
                    "h": [[k, v.decode()] for k, v in (m.headers or [])],
                    "t": m.timestamp,
                })
                n += 1
    begin = consumer.beginning_offsets(tps)
    end = consumer.end_offsets(tps)
    emit({"offsets": {str(tp.partition): [begin[tp], end[tp]] for tp in tps}})
    consumer.close(autocommit=False)


def group(bootstrap, topic, group_id, want, seconds):
    """Consume with a group (subscribe, auto-commit every 100 ms) until want
    records or seconds pass; print the records, then close (which commits)."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        auto_commit_interval_ms=100,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
    )
    n = 0
    deadline = time.time() + seconds
    while n < want and time.time() < deadline:
        for tp, msgs in consumer.poll(timeout_ms=200).items():
            for m in msgs:
                emit({"p": m.partition, "o": m.offset, "v": m.value.decode()})
                n += 1
    consumer.close(autocommit=True)


def main(argv):
    cmd = argv[1]
    if cmd == "codecs":
        codecs()
    elif cmd == "produce":
        produce(argv[2], argv[3], argv[4], argv[5])
    elif cmd == "consume":
        consume(argv[2], argv[3], int(argv[4]), int(argv[5]), float(argv[6]))
    elif cmd == "group":
        group(argv[2], argv[3], argv[4], int(argv[5]), float(argv[6]))
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
