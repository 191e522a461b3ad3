"""Read back what the loggers wrote, with the tools' own readers where they have one."""
import glob
import json
import os
import struct


def tensorboard_scalars(logdir):
    """{tag: [(step, value), ...]} from the event files under ``logdir``, read by the
    tensorboard package's EventAccumulator (what ``tensorboard --logdir`` uses)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]}


def wandb_history(root):
    """(run folder, rows): the history rows ({key: value} with ``_step``) of the one offline
    run under ``root``/wandb, read from its ``.wandb`` transaction log.

    The log is LevelDB's log format (32 KiB blocks of records, each with a 7-byte header:
    CRC-32C, length, type FULL/FIRST/MIDDLE/LAST) after a 7-byte W&B header; each record is
    a protobuf ``Record`` of wandb's own schema (wandb.proto.wandb_internal_pb2). wandb 0.31
    ships no Python reader for it, so this is the reader, 20 lines long.
    """
    from wandb.proto import wandb_internal_pb2
    (run,) = glob.glob(os.path.join(str(root), "wandb", "offline-run-*"))
    (path,) = glob.glob(os.path.join(run, "*.wandb"))
    data = open(path, "rb").read()
    assert data[:4] == b":W&B", data[:7]
    block, position, pending, rows = 32768, 7, b"", []
    while position + 7 <= len(data):
        left = block - position % block
        if left < 7:  # a block's tail too short for a header is padding
            position += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[position:position + 7])
        if kind == 0:  # zero fill to the end of the block
            position += left
            continue
        pending += data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # FULL, or the LAST piece of a record
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            if record.WhichOneof("record_type") == "history":
                rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                             for item in record.history.item})
    return run, rows
