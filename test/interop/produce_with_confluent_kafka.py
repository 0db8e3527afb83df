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


def main() -> None:
    brokers, registry_url, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    registry = SchemaRegistryClient({"url": registry_url})
    latest = registry.get_latest_version(f"{topic}-value")
    serializer = AvroSerializer(
        registry,
        latest.schema.schema_str,
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )
    keys = StringSerializer("utf_8")
    producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True, "acks": "all"})
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
    producer.flush(30)
    if failures:
        raise SystemExit(f"delivery failed: {failures}")


if __name__ == "__main__":
    main()
