"""How fast `provisioner serve` hands phones their files, beside nginx serving the same
bytes as static files — both measured by wrk in the same run, one worker each, loopback.

    python bench/http.py                     # 10,000 Yealink devices
    python bench/http.py --devices 2000 --duration 5

Each of N Yealink devices fetches its own ``/<mac>.cfg`` with HTTP Digest credentials.
The Authorization headers are computed beforehand (SHA-256, qop=auth) from one nonce of
the server: a nonce is valid for its whole lifetime (5 minutes) and a header may be
replayed within it for the same method and URI, so wrk needs no digest code of its own.

* cold: a freshly started server, every request the first fetch of its device (the
  device lookup, HA1s, effective settings and rendering): wrk sends each device's
  request once and stops, and the rate is those N requests over the time they took;
* warm: every device fetched before, answered from the cache (the digest check included);
* changed: the same, right after an estate change that reaches every device (the server
  starts its cache afresh) and `--settle` seconds for it to notice the change and prepare
  again, in the background, the files phones asked for (`provisioner.web.prepare`).

nginx serves the same rendered files from a directory (sendfile, no auth): the yardstick.
Prints requests per second, the ratio to nginx and the p99 latency of each.

    python bench/http.py --https             # also: warm fetches over HTTPS

With ``--https`` the server also listens with ``serve --https`` and nginx with ``listen
... ssl``, both with the same certificate (ECDSA P-256, made by trustme) and TLS 1.3;
an extra row, "https", gives the warm fetches over TLS on kept-alive connections (the
handshakes are done once per wrk connection, not measured).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `http`: keep its folder off the path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import argparse  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402
import yaml  # noqa: E402

from bench.synthetic_estate import accounts, cluster  # noqa: E402
from provisioner.domain.effective import device_config  # noqa: E402
from provisioner.domain.settings import Layer  # noqa: E402
from provisioner.estate_files.load import load_estate_file, read_estate_file  # noqa: E402
from provisioner.storage import migrate  # noqa: E402
from provisioner.storage.database import Database  # noqa: E402
from provisioner.storage.layers import change_layer  # noqa: E402
from provisioner.storage.snapshot import load_device, load_estate  # noqa: E402
from provisioner.vendors import yealink  # noqa: E402
from provisioner.vendors.base import RenderContext  # noqa: E402
from provisioner.web.digest import authorization_header  # noqa: E402

REALM = "provisioner"
LUA = """
-- once=true: each request once, then this thread stops; done() prints how many were sent
-- and the seconds between the first and the last (wrk's own rate divides by -d).
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]]
local clock = ffi.new("bench_timeval")
local function now()
  ffi.C.gettimeofday(clock, nil)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_usec) / 1e6
end
local requests = {}
local next_index = 0
local threads = {}
sent, started, finished, total = 0, 0, 0, 0
setup = function(thread) threads[#threads + 1] = thread end
init = function(args)
  for line in io.lines("%(list)s") do
    local path, authorization = line:match("^(%%S+)\\t(.*)$")
    local headers = {}
    if authorization ~= "" then headers["Authorization"] = authorization end
    headers["User-Agent"] = "Yealink SIP-T46U 108.86.0.20"
    requests[#requests + 1] = wrk.format("GET", path, headers)
  end
  total = #requests
end
request = function()
  if sent == 0 then started = now() end
  next_index = next_index + 1
  if next_index > #requests then
    if %(once)s then
      if finished == 0 then finished = now() end
      wrk.thread:stop()
    end
    next_index = 1
  end
  sent = sent + 1
  return requests[next_index]
end
done = function(summary, latency, requests)
  for _, thread in ipairs(threads) do
    if thread:get("finished") > 0 then
      io.write(string.format("once: %%d requests in %%.6f s\\n", thread:get("total"),
        thread:get("finished") - thread:get("started")))
    end
  end
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def yealink_estate(devices: int) -> str:
    estate_accounts = accounts(devices)
    for account in estate_accounts:
        for device in account["devices"]:
            device["vendor"], device["model"] = "yealink", "T46U"
    return yaml.safe_dump({"clusters": [cluster()], "accounts": estate_accounts})


def wait_for(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


def make_certificate(work: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, in PEM files: (cert, key)."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = work / "tls.crt", work / "tls.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    return cert, key


def start_provisioner(
    db_url: str, port: int, work: Path, extra: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PROVISIONER_DB": db_url, "PROVISIONER_DNS": "127.0.0.1:0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "serve", "--http", f"127.0.0.1:{port}", *extra],
        env=env,
        stdout=(work / "serve.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process, "provisioner serve")
    except BaseException:
        process.kill()  # never leave a server behind
        process.wait()
        raise
    return process


def start_nginx(
    static: Path, port: int, work: Path, tls: tuple[int, Path, Path] | None = None
) -> subprocess.Popen[bytes]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    conf = work / "nginx.conf"
    tls_server = ""
    if tls is not None:
        tls_port, cert, key = tls
        tls_server = f"""
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        root {static};
    }}"""
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx.err warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type text/plain;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {static};
    }}{tls_server}
}}
"""
    )
    process = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(work)], stderr=(work / "nginx.log").open("ab")
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/", process, "nginx")
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


def run_wrk(url: str, script: Path, duration: float, connections: int) -> dict[str, float]:
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    result = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    once = re.search(r"once: (\d+) requests in ([\d.]+) s", out)
    if once:  # one pass that ended before -d: its own count over its own time
        total, rate = int(once.group(1)), int(once.group(1)) / float(once.group(2))
    return {
        "rate": rate,
        "p99_ms": p99_ms,
        "requests": total,
        "errors": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each warm run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds between the change and its run"
    )
    parser.add_argument("--https", action="store_true", help="also measure warm fetches over HTTPS")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-http-"))
    try:
        db_url = f"sqlite:///{work / 'estate.db'}"
        database = Database(db_url)
        migrate.ensure_schema(database)
        print(f"loading {args.devices} Yealink devices...", flush=True)
        load_estate_file(database, read_estate_file(yealink_estate(args.devices), "bench"))

        # The files nginx serves: the same bytes the phones get.
        static = work / "static"
        static.mkdir()
        with database.read() as session:
            estate = load_estate(session)
            macs = [f"{0x02AA00000000 + index:012x}" for index in range(args.devices)]
            for mac in macs:
                record = load_device(session, mac)
                assert record is not None
                context = RenderContext(base_url="http://127.0.0.1", mac=mac, model="T46U")
                body = yealink.PROFILE.render("device", device_config(estate, record), context)
                (static / f"{mac}.cfg").write_bytes(body)
        database.dispose()

        port, nginx_port = free_port(), free_port()
        tls_port, nginx_tls_port = free_port(), free_port()
        extra: tuple[str, ...] = ()
        nginx_tls = None
        if args.https:
            cert, key = make_certificate(work)
            extra = ("--https", f"127.0.0.1:{tls_port}", "--cert", str(cert), "--key", str(key))
            nginx_tls = (nginx_tls_port, cert, key)
        server = start_provisioner(db_url, port, work, extra)
        try:
            nginx = start_nginx(static, nginx_port, work, nginx_tls)
        except BaseException:
            server.terminate()
            server.wait(timeout=10)
            raise
        try:
            challenge = httpx.get(f"http://127.0.0.1:{port}/{macs[0]}.cfg")
            nonce = re.search(r'nonce="([^"]+)"', challenge.headers["www-authenticate"])
            assert nonce, challenge.headers
            listing = work / "requests.tsv"
            with listing.open("w") as out:
                for mac in macs:
                    path = f"/{mac}.cfg"
                    header = authorization_header(mac, f"pw-{mac}", REALM, nonce.group(1), path)
                    out.write(f"{path}\t{header}\n")
            script = work / "phones.lua"
            script.write_text(LUA % {"list": listing, "once": "false"})
            # cold: each device once, then the run stops (its rate is requests / time)
            once = work / "phones-once.lua"
            once.write_text(LUA % {"list": listing, "once": "true"})
            check = httpx.get(
                f"http://127.0.0.1:{port}/{macs[0]}.cfg",
                headers={"authorization": listing.read_text().split("\n")[0].split("\t")[1]},
            )
            if check.content != (static / f"{macs[0]}.cfg").read_bytes():
                raise SystemExit("the server and the static file differ: check the bench")

            # cold: every device's first fetch, each once (if the pass takes longer than
            # this, the run ends first and every request it made was still a first fetch)
            cold_seconds = max(2, math.ceil(args.devices / 2000))
            results = {
                "cold": (
                    run_wrk(f"http://127.0.0.1:{port}", once, cold_seconds, args.connections),
                    # nginx's pass takes a tenth of a second: the median of three
                    sorted(
                        (
                            run_wrk(
                                f"http://127.0.0.1:{nginx_port}",
                                once,
                                cold_seconds,
                                args.connections,
                            )
                            for _ in range(3)
                        ),
                        key=lambda result: result["rate"],
                    )[1],
                )
            }
            # prime every device, then measure warm
            run_wrk(f"http://127.0.0.1:{port}", script, args.duration / 2, args.connections)
            results["warm"] = (
                run_wrk(f"http://127.0.0.1:{port}", script, args.duration, args.connections),
                run_wrk(f"http://127.0.0.1:{nginx_port}", script, args.duration, args.connections),
            )
            if args.https:
                # the same requests over TLS (kept-alive connections): prime, then measure
                served = httpx.get(
                    f"https://127.0.0.1:{tls_port}/{macs[0]}.cfg",
                    headers={"authorization": listing.read_text().split("\n")[0].split("\t")[1]},
                    verify=False,
                )
                if served.content != (static / f"{macs[0]}.cfg").read_bytes():
                    print("  note: the file over HTTPS differs from the static one")
                tls_url = f"https://127.0.0.1:{tls_port}"
                run_wrk(tls_url, script, args.duration / 2, args.connections)
                results["https"] = (
                    run_wrk(tls_url, script, args.duration, args.connections),
                    run_wrk(
                        f"https://127.0.0.1:{nginx_tls_port}",
                        script,
                        args.duration,
                        args.connections,
                    ),
                )
            # an estate change reaching every device (the same bytes come out of it)
            database = Database(db_url)
            change_layer(database, Layer.GLOBAL, None, {})
            database.dispose()
            time.sleep(args.settle)
            results["changed"] = (
                run_wrk(f"http://127.0.0.1:{port}", script, args.duration, args.connections),
                run_wrk(f"http://127.0.0.1:{nginx_port}", script, args.duration, args.connections),
            )
        finally:
            for process in (server, nginx):
                process.terminate()
                process.wait(timeout=10)

        print(
            f"\n{args.devices} devices, wrk -t1 -c{args.connections}, one worker each, loopback\n"
        )
        print(
            f"{'run':<8}{'provisioner r/s':>15}{'nginx r/s':>12}{'ratio':>8}"
            f"{'p99 prov':>11}{'p99 nginx':>11}{'goal':>7}"
        )
        goals = {"cold": "0.2", "warm": "0.5", "changed": "-", "https": "-"}
        for name, (ours, yardstick) in results.items():
            ratio = ours["rate"] / yardstick["rate"]
            print(
                f"{name:<8}{ours['rate']:>15,.0f}{yardstick['rate']:>12,.0f}{ratio:>8.2f}"
                f"{ours['p99_ms']:>9.1f}ms{yardstick['p99_ms']:>9.1f}ms{goals[name]:>7}"
            )
            if ours["errors"]:
                print(f"  !! {ours['errors']} non-2xx answers from provisioner in the {name} run")
        cold = results["cold"][0]
        print(
            f"  the cold run answered {cold['requests']:,} first fetches of {args.devices:,} devices"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
