"""confluent-kafka-python side of the interop tests (run with Debian's /usr/bin/python3).

  codecs                                   print the client's versions and usable codecs
  produce BOOTSTRAP TOPIC CODEC FILE       produce FILE's records (JSON lines {"k","v","h"}) with
                                           acks=all, idempotent; print one delivery report
                                           per record, in the order produced
  consume BOOTSTRAP TOPIC PARTITIONS N SECONDS
                                           assign every partition at the beginning, read until
                                           N records or SECONDS pass; print the records, then
                                           the earliest and latest offsets
  group BOOTSTRAP TOPIC GROUP N SECONDS    subscribe with a consumer group (manual synchronous
                                           commits), read until N records or SECONDS pass; print them
  assigncommit BOOTSTRAP TOPIC GROUP INSTANCE N SECONDS
                                           with group.instance.id INSTANCE, assign partition 0 at
                                           the beginning, read N records, commit synchronously
                                           and print {"committed": offset}
Output is JSON lines on stdout.
"""
import json
import sys
import time

import confluent_kafka
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")


def codecs():
    emit({"version": confluent_kafka.version()[0], "librdkafka": confluent_kafka.libversion()[0],
          "codecs": ["none", "gzip", "snappy", "lz4", "zstd"]})


def produce(bootstrap, topic, codec, path):
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "compression.type": codec,
        "linger.ms": 5,
        "message.timeout.ms": 60000,
    })
    with open(path) as f:
        records = [json.loads(line) for line in f]
    reports = [None] * len(records)
    errors = []

    def report(i):
        def cb(err, msg):
            if err is not None:
                errors.append("record %d: %s" % (i, err))
            else:
                reports[i] = {"p": msg.partition(), "o": msg.offset()}
        return cb

    for i, r in enumerate(records):
        headers = [(k, v.encode()) for k, v in r["h"]]
        while True:
            try:
                producer.produce(topic, key=r["k"].encode(), value=r["v"].encode(), headers=headers, on_delivery=report(i))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(60)
    if left or errors:
        raise SystemExit("produce: %d undelivered, errors: %s" % (left, errors[:5]))
    for rep in reports:
        emit(rep)


def consume(bootstrap, topic, partitions, want, seconds):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "interop-unused",  # required by the client; no group API is used with assign()
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "fetch.wait.max.ms": 200,
    })
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    n = 0
    eof = set()
    deadline = time.time() + seconds
    while (n < want or len(eof) < partitions) and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                eof.add(msg.partition())
                continue
            raise SystemExit("consume: %s" % msg.error())
        eof.discard(msg.partition())
        emit({
            "p": msg.partition(), "o": msg.offset(),
            "k": msg.key().decode() if msg.key() is not None else None,
            "v": msg.value().decode() if msg.value() is not None else None,
            "h": [[k, v.decode()] for k, v in (msg.headers() or [])],
            "t": msg.timestamp()[1],
        })
        n += 1
    offsets = {}
    for p in range(partitions):
        lo, hi = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
        offsets[str(p)] = [lo, hi]
    emit({"offsets": offsets})
    consumer.close()


def group(bootstrap, topic, group_id, want, seconds):
    """Consume with a group (subscribe, manual synchronous commits after each
    message) until want records or seconds pass; print the records."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 1000,
    })
    consumer.subscribe([topic])
    n = 0
    deadline = time.time() + seconds
    while n < want and time.time() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise SystemExit("group consume: %s" % msg.error())
        emit({"p": msg.partition(), "o": msg.offset(), "v": msg.value().decode()})
        consumer.commit(message=msg, asynchronous=False)
        n += 1
    consumer.close()


def assigncommit(bootstrap, topic, group_id, instance, want, seconds):
    """assign() without a subscription, but with group.instance.id set:
    librdkafka then sends its commits at generation -1 with the instance id."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "group.instance.id": instance,
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 200,
    })
    tp = TopicPartition(topic, 0, OFFSET_BEGINNING)
    consumer.assign([tp])
    n = 0
    last = None
    deadline = time.time() + seconds
    while n < want and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise SystemExit("assigncommit consume: %s" % msg.error())
        last = msg
        n += 1
    if last is None:
        raise SystemExit("assigncommit: nothing read")
    consumer.commit(message=last, asynchronous=False)
    committed = consumer.committed([TopicPartition(topic, 0)], timeout=10)
    emit({"committed": committed[0].offset})
    consumer.close()


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
    elif cmd == "assigncommit":
        assigncommit(argv[2], argv[3], argv[4], argv[5], int(argv[6]), float(argv[7]))
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
