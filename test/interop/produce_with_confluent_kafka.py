"""Produces orders with Confluent's own Python client, as a team on another stack would.

It uses the schema already registered under <topic>-value (no auto-registration), the
standard Confluent wire format and Avro decimals via Python's Decimal. Prints one JSON
line per order so the caller can compare exact prices.
"""
import json
import sys
import time
from decimal import Decimal

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer


def progress(step: str) -> None:
    """Timestamped steps on stderr, so a caller that times out can tell where this stopped."""
    print(f"{time.strftime('%H:%M:%S')} {step}", file=sys.stderr, flush=True)


def main() -> None:
    brokers, registry_url, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    progress(f"registry {registry_url}: latest version of {topic}-value")
    registry = SchemaRegistryClient({"url": registry_url, "timeout": 10})
    latest = registry.get_latest_version(f"{topic}-value")
    progress(f"schema id {latest.schema_id}; producing {count} orders to {brokers}")
    serializer = AvroSerializer(
        registry,
        latest.schema.schema_str,
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )
    keys = StringSerializer("utf_8")
    producer = Producer(
        {
            "bootstrap.servers": brokers,
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": 20000,
            # On stderr, which the test shows only when this script fails or hangs.
            "debug": "broker,eos,msg,protocol",
        }
    )
    failures = []
    for i in range(count):
        order = {
            "orderId": f"py-{i}",
            "product": "Python Widget",
            "price": Decimal(f"{10 + i}.{(i * 37) % 100:02d}"),
            "createdAt": int(time.time() * 1000),
        }
        value = serializer(order, SerializationContext(topic, MessageField.VALUE))
        producer.produce(
            topic,
            key=keys(order["orderId"]),
            value=value,
            on_delivery=lambda err, _msg: failures.append(str(err)) if err else None,
        )
        print(json.dumps({"orderId": order["orderId"], "price": str(order["price"])}))
    progress("flushing")
    left = producer.flush(30)
    progress(f"flushed; {left} undelivered")
    if failures or left:
        raise SystemExit(f"delivery failed: {failures}, {left} undelivered")


if __name__ == "__main__":
    main()
