"""Payload codec benchmark: what AES-256-GCM payload encryption (codec.py)
costs, against no codec. A script, not a test:

    .venv/bin/python -m bench.codec                 # everything, ~1 min
    .venv/bin/python -m bench.codec --no-http --rounds 500

Payloads are real ones: those of the recorded workflow histories in
tests/histories/*.json (written by the workflows under test, unencrypted),
so sizes and shapes are Kanalvakt's own.

1. A message case's input (the first event of message_answered_by_hand: an
   InboundMessageWorkflow's MessageWorkflowInput), through the data converter
   as the worker and clients use it: object -> payload(s) and back, with the
   pydantic converter alone and with the codec (data_converter(...)).
   Per operation (median of --rounds), and the codec's share.
2. A history of N payload-carrying events (N = --history-sizes): N payloads
   cycled from all recorded histories' payloads (every Payload in every
   event), encrypted and decrypted in one codec call (how the SDK passes a
   task's payloads); per payload and payloads/s.
3. The codec endpoint as the Temporal UI calls it (unless --no-http): the
   web app served by uvicorn on loopback, POST /api/codec/decode with one
   payload per call (what UI 2.54.1 does: one call per payload shown),
   sequentially over one kept-alive connection; and one call with 100.
   Identity by the development header (KANALVAKT_DEV_SIGNIN=1), so the
   session-cookie lookup of a real browser call is not in these numbers.

Prints a report and writes bench/results/codec-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import platform
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

import settings
from codec import EncryptionCodec, data_converter, new_key_spec
from workflows.message import MessageWorkflowInput

RESULTS_DIR = settings.ROOT / "bench" / "results"
HISTORIES = settings.ROOT / "tests" / "histories"
MESSAGE_HISTORY = HISTORIES / "message_answered_by_hand.json"


def say(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- payloads


def _payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload anywhere inside a protobuf message (inputs, results,
    update arguments, memos, failure details ...)."""
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if isinstance(value, Message):
            values: Any = [value]
        elif descriptor.message_type.GetOptions().map_entry:
            values = value.values()
        else:
            values = value  # repeated
        for item in values:
            if not isinstance(item, Message):
                continue
            if isinstance(item, Payload):
                yield item
            else:
                yield from _payloads_in(item)


def history_payloads() -> tuple[list[Payload], int]:
    """All payloads of all recorded histories, and how many events carried one."""
    payloads: list[Payload] = []
    carrying = 0
    for path in sorted(HISTORIES.glob("*.json")):
        history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
        for event in history.events:
            found = list(_payloads_in(event))
            carrying += bool(found)
            payloads.extend(found)
    if not payloads:
        raise SystemExit(f"no payloads in {HISTORIES}/*.json")
    return payloads, carrying


async def message_input() -> MessageWorkflowInput:
    history = WorkflowHistory.from_json(
        MESSAGE_HISTORY.stem, MESSAGE_HISTORY.read_text(encoding="utf-8"))
    started = history.events[0].workflow_execution_started_event_attributes
    [value] = await pydantic_data_converter.decode(started.input.payloads,
                                                   [MessageWorkflowInput])
    assert isinstance(value, MessageWorkflowInput)
    return value


# --------------------------------------------------------------------------- timing


async def per_call(fn: Callable[[], Awaitable[Any]], rounds: int) -> dict[str, float]:
    """Median, p95 and mean of `rounds` calls, in microseconds (after 20
    warm-up calls)."""
    for _ in range(min(20, rounds)):
        await fn()
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - began) * 1e6)
    times.sort()
    return {"median_us": round(statistics.median(times), 1),
            "p95_us": round(times[int(len(times) * 0.95) - 1], 1),
            "mean_us": round(statistics.fmean(times), 1)}


async def bench_message_input(codec: EncryptionCodec, rounds: int) -> dict[str, Any]:
    value = await message_input()
    plain_conv = pydantic_data_converter
    coded_conv = data_converter(pydantic_data_converter, codec)
    [plain] = await plain_conv.encode([value])
    [sealed] = await coded_conv.encode([value])
    result: dict[str, Any] = {
        "payload_bytes_plain": plain.ByteSize(),
        "payload_bytes_encrypted": sealed.ByteSize(),
        "json_bytes": len(plain.data),
    }
    cases: dict[str, Callable[[], Awaitable[Any]]] = {
        "encode_plain": lambda: plain_conv.encode([value]),
        "encode_with_codec": lambda: coded_conv.encode([value]),
        "decode_plain": lambda: plain_conv.decode([plain], [MessageWorkflowInput]),
        "decode_with_codec": lambda: coded_conv.decode([sealed], [MessageWorkflowInput]),
        "codec_encrypt_only": lambda: codec.encode([plain]),
        "codec_decrypt_only": lambda: codec.decode([sealed]),
    }
    for name, fn in cases.items():
        result[name] = await per_call(fn, rounds)
    return result


async def bench_history(codec: EncryptionCodec, payloads: list[Payload], n: int,
                        repeats: int) -> dict[str, Any]:
    batch = [payloads[i % len(payloads)] for i in range(n)]
    sealed = await codec.encode(batch)
    enc: list[float] = []
    dec: list[float] = []
    for _ in range(repeats):
        began = time.perf_counter()
        await codec.encode(batch)
        enc.append(time.perf_counter() - began)
        began = time.perf_counter()
        out = await codec.decode(sealed)
        dec.append(time.perf_counter() - began)
    assert out == batch
    enc_s, dec_s = statistics.median(enc), statistics.median(dec)
    plain_bytes = sum(p.ByteSize() for p in batch)
    return {"events": n, "plain_bytes": plain_bytes,
            "encrypted_bytes": sum(p.ByteSize() for p in sealed),
            "encrypt_ms": round(enc_s * 1e3, 3), "decrypt_ms": round(dec_s * 1e3, 3),
            "encrypt_us_per_payload": round(enc_s / n * 1e6, 2),
            "decrypt_us_per_payload": round(dec_s / n * 1e6, 2),
            "encrypt_payloads_per_s": round(n / enc_s),
            "decrypt_payloads_per_s": round(n / dec_s),
            "decrypt_mb_per_s": round(plain_bytes / dec_s / 1e6, 1)}


# --------------------------------------------------------------------------- endpoint


def _quiet_logs() -> None:
    """The app's JSON log lines (one per codec call: part of the cost) go to
    /dev/null instead of the terminal; httpx's own client lines are dropped."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    quiet = open(os.devnull, "w")  # noqa: SIM115 - open for the process's life
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(quiet)


async def bench_endpoint(key_spec: str, payloads: list[Payload], rounds: int
                         ) -> dict[str, Any]:
    import httpx
    import uvicorn

    os.environ.update(KANALVAKT_PAYLOAD_KEYS=key_spec, KANALVAKT_DEV_SIGNIN="1",
                      KANALVAKT_COOKIE_SECURE="0", KANALVAKT_LOG_LEVEL="warning")
    os.environ.pop("KANALVAKT_ENV", None)
    # Imported here, not at the top: importing web.app builds its module-level
    # app from the environment, which the lines above set for the benchmark.
    from web.app import create_app

    app = create_app()
    _quiet_logs()
    # proto IPPROTO_TCP, as uvicorn's own --host/--port socket has it: asyncio
    # sets TCP_NODELAY on accepted connections only then. A plain
    # socket.socket() (proto 0) leaves Nagle on, and every answer (headers and
    # body written apart) waits ~40 ms for the client's delayed ACK (measured:
    # 48 ms a call instead of 4 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
        if serving.done():
            await serving
        await asyncio.sleep(0.01)
    codec = EncryptionCodec.from_spec(key_spec)
    message = payloads[0]
    [sealed_one] = await codec.encode([message])
    sealed_100 = await codec.encode([payloads[i % len(payloads)] for i in range(100)])
    one = {"payloads": [MessageToDict(sealed_one)]}
    hundred = {"payloads": [MessageToDict(p) for p in sealed_100]}
    headers = {"X-Kanalvakt-Actor": "bench", "X-Namespace": "default",
               "Origin": "http://localhost:8233"}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers,
                                     timeout=30) as http:
            async def call(body: dict[str, Any]) -> None:
                r = await http.post("/api/codec/decode?preserveStorageRefs=true", json=body)
                r.raise_for_status()

            r = await http.post("/api/codec/decode", json=one)
            r.raise_for_status()
            decoded = base64.b64decode(r.json()["payloads"][0]["data"])
            assert decoded == message.data, "the endpoint did not decode"
            single = await per_call(lambda: call(one), rounds)
            batch = await per_call(lambda: call(hundred), max(20, rounds // 20))
    finally:
        server.should_exit = True
        await serving
        sock.close()
    return {"one_payload_per_call": single,
            "one_payload_calls_per_s": round(1e6 / single["mean_us"]),
            "hundred_payloads_per_call": batch,
            "hundred_payload_call_payloads_per_s": round(100 * 1e6 / batch["mean_us"]),
            "note": "loopback, one kept-alive connection, sequential; development header "
                    "identity (no session-cookie lookup)"}


# --------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpus": os.cpu_count(), "load_avg": os.getloadavg(),
            "cryptography": version("cryptography"), "temporalio": version("temporalio")}


def report(result: dict[str, Any]) -> None:
    m = result["message_input"]
    say("")
    say(f"Message case input: {m['json_bytes']} B JSON, payload {m['payload_bytes_plain']} B "
        f"plain -> {m['payload_bytes_encrypted']} B encrypted")
    for name in ("encode_plain", "encode_with_codec", "codec_encrypt_only",
                 "decode_plain", "decode_with_codec", "codec_decrypt_only"):
        t = m[name]
        say(f"  {name:<20} median {t['median_us']:>8.1f} us   p95 {t['p95_us']:>8.1f} us")
    say(f"History payloads: {result['history_payloads']} payloads in "
        f"{result['history_events_with_payloads']} events of {result['history_files']} "
        f"recorded histories, median {result['history_payload_median_bytes']} B")
    for h in result["histories"]:
        say(f"  N={h['events']:>5}: encrypt {h['encrypt_ms']:>8.2f} ms "
            f"({h['encrypt_us_per_payload']:.1f} us/payload, {h['encrypt_payloads_per_s']}/s), "
            f"decrypt {h['decrypt_ms']:>8.2f} ms ({h['decrypt_us_per_payload']:.1f} us/payload, "
            f"{h['decrypt_payloads_per_s']}/s), {h['plain_bytes']} -> {h['encrypted_bytes']} B")
    if "endpoint" in result:
        e = result["endpoint"]
        s, b = e["one_payload_per_call"], e["hundred_payloads_per_call"]
        say(f"Codec endpoint (HTTP, loopback): 1 payload/call median {s['median_us'] / 1e3:.2f} ms "
            f"p95 {s['p95_us'] / 1e3:.2f} ms ({e['one_payload_calls_per_s']} calls/s); "
            f"100 payloads/call median {b['median_us'] / 1e3:.2f} ms "
            f"({e['hundred_payload_call_payloads_per_s']} payloads/s)")


async def amain(args: argparse.Namespace) -> int:
    key_spec = new_key_spec("bench")
    codec = EncryptionCodec.from_spec(key_spec)
    payloads, carrying = history_payloads()
    sizes = sorted(p.ByteSize() for p in payloads)
    result: dict[str, Any] = {
        "machine": machine(),
        "parameters": {"rounds": args.rounds, "history_sizes": args.history_sizes,
                       "http": not args.no_http},
        "history_files": len(list(HISTORIES.glob("*.json"))),
        "history_payloads": len(payloads),
        "history_events_with_payloads": carrying,
        "history_payload_median_bytes": sizes[len(sizes) // 2],
        "history_payload_max_bytes": sizes[-1],
    }
    say("message case input ...")
    result["message_input"] = await bench_message_input(codec, args.rounds)
    say("histories ...")
    result["histories"] = [
        await bench_history(codec, payloads, n, repeats=max(5, min(200, 20_000 // n)))
        for n in args.history_sizes]
    if not args.no_http:
        say("codec endpoint over HTTP ...")
        result["endpoint"] = await bench_endpoint(key_spec, payloads, args.rounds)
    report(result)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"codec-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    say(f"results written to {out.relative_to(settings.ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.codec",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=2000,
                        help="timed calls per single-payload measurement (default 2000)")
    parser.add_argument("--history-sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[10, 100, 1000, 10_000],
                        help="payload-carrying events per history (default 10,100,1000,10000)")
    parser.add_argument("--no-http", action="store_true",
                        help="skip the codec endpoint over HTTP")
    args = parser.parse_args(argv)
    if args.rounds < 1 or not args.history_sizes or min(args.history_sizes) < 1:
        parser.error("--rounds and every history size must be at least 1")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
