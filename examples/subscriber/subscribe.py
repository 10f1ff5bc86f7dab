#!/usr/bin/env python3
"""Prints rdfi's findings as they arrive: a durable JetStream consumer on the RDFI stream, filtered to
rdfi.v1.finding.created and rdfi.v1.analysis.completed, decoding each message's protobuf body with code
generated at start from rdfi's published schema (proto/rdfi/v1/events.proto, by grpcio-tools' protoc).

    pip install -r examples/subscriber/requirements.txt
    python3 examples/subscriber/subscribe.py --nats nats://127.0.0.1:4222

One line per event on stdout:

    finding HIGH aws.s3.bucket-public-acl on arn:aws:s3:::ml-training-data: S3 bucket ACL grants ... (run 4f...)
    analysis completed: run 4f..., 4 fault(s), 1 finding(s), 4 tested, hypotheses held: no

Delivery is at least once: a redelivered event has the same id (the ce-id header), which this deduplicates.
"""

import argparse
import asyncio
import importlib
import pathlib
import sys
import tempfile

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

STREAM = "RDFI"
SUBJECTS = ["rdfi.v1.finding.created", "rdfi.v1.analysis.completed"]
DEFAULT_PROTO = pathlib.Path(__file__).resolve().parents[2] / "proto"


def load_events_module(proto_dir: pathlib.Path):
    """Generates Python code for rdfi/v1/events.proto into a temporary directory and imports it."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="rdfi-proto-")
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    status = protoc.main(
        [
            "protoc",
            f"-I{proto_dir}",
            f"-I{well_known}",
            f"--python_out={out}",
            str(proto_dir / "rdfi" / "v1" / "events.proto"),
        ]
    )
    if status != 0:
        sys.exit(f"subscribe: protoc failed on {proto_dir}/rdfi/v1/events.proto")
    sys.path.insert(0, out)
    return importlib.import_module("rdfi.v1.events_pb2")


def describe(event) -> str | None:
    """One line for a finding or a completed analysis; None for any other payload."""
    kind = event.WhichOneof("payload")
    if kind == "finding_created":
        finding = event.finding_created
        return (
            f"finding {finding.severity.upper()} {finding.fault_id} on {finding.resource.id}: "
            f"{finding.title} (run {event.run_id})"
        )
    if kind == "analysis_completed":
        done = event.analysis_completed
        return (
            f"analysis completed: run {event.run_id}, {done.faults} fault(s), {done.findings} finding(s), "
            f"{done.tested} tested, hypotheses held: {'yes' if done.hypotheses_held else 'no'}"
        )
    return None


async def wait_for_stream(js, url: str):
    """The stream is created by the first rdfi service that connects; wait for it."""
    said = False
    while True:
        try:
            return await js.stream_info(STREAM)
        except NotFoundError:
            if not said:
                print(f"waiting for the {STREAM} stream on {url}", file=sys.stderr, flush=True)
                said = True
            await asyncio.sleep(0.2)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default="nats://127.0.0.1:4222", help="the NATS server rdfi runs over")
    parser.add_argument("--durable", default="findings-printer", help="the durable consumer's name")
    parser.add_argument("--proto", type=pathlib.Path, default=DEFAULT_PROTO, help="rdfi's proto directory")
    parser.add_argument("--count", type=int, default=0, help="exit after this many analyses completed (0: never)")
    args = parser.parse_args()

    events = load_events_module(args.proto)
    connection = await nats.connect(args.nats)
    js = connection.jetstream()
    await wait_for_stream(js, args.nats)
    subscription = await subscribe(js, args.durable)
    print(f"listening on {', '.join(SUBJECTS)}", file=sys.stderr, flush=True)
    seen = set()
    completed = 0
    while args.count == 0 or completed < args.count:
        try:
            messages = await subscription.fetch(10, timeout=1)
        except (nats.errors.TimeoutError, asyncio.TimeoutError):
            # Nothing new within the second (nats-py raises either, depending on where the wait ended).
            continue
        for message in messages:
            event = events.Event.FromString(message.data)
            if event.id not in seen:
                seen.add(event.id)
                line = describe(event)
                if line:
                    print(line, flush=True)
                if event.WhichOneof("payload") == "analysis_completed":
                    completed += 1
            await message.ack()
    await connection.close()


async def subscribe(js, durable: str):
    """A durable pull consumer on the two subjects, created if it does not exist, from the stream's start."""
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=durable,
            filter_subjects=SUBJECTS,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy="explicit",
        ),
    )
    return await js.pull_subscribe_bind(durable=durable, stream=STREAM)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
