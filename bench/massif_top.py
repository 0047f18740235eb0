#!/usr/bin/env python3
"""massif_top.py MASSIF_OUT: the peak heap snapshot of a massif run, one line per
top-level allocation tree with the first frame that says what it is (issue 12's
before/after memory inventory, bench/RESULTS.md). Needs ms_print (valgrind)."""
import re, sys, subprocess
out = subprocess.run(["ms_print", "--threshold=1", sys.argv[1]], capture_output=True, text=True).stdout
lines = out.splitlines()
peak = re.search(r"(\d+) \(peak\)", out).group(1)
start = max(i for i, l in enumerate(lines) if re.match(r"^\s+%s\s+[\d,]+\s+[\d,]+" % peak, l))
print("peak snapshot:", " ".join(lines[start].split()))
keys = ["stream_core", "BIO_new_bio_pair", "CRYPTO_malloc", "SSL_new", "ssl_", "tls_engine", "websocket", "caf::", "http_session", "flat_buffer", "sqlite", "spdlog", "engineio", "session_registry", "connection_actor", "user_actor", "basic_stream", "io_pool", "epoll", "acceptor"]
i = start + 1
while i < len(lines):
    l = lines[i]
    if re.match(r"^\s+\d+\s+[\d,]+\s+[\d,]+", l): break
    m = re.match(r"^->([\d.]+)% \(([\d,]+)B\)", l)
    if m:
        what = "?"
        for j in range(i, min(i + 60, len(lines))):
            if j > i and lines[j].startswith("->"): break
            hit = next((k for k in keys if k in lines[j]), None)
            if hit:
                fn = re.sub(r"^[| ]*->[\d.]+% \([\d,]+B\) 0x[0-9A-F]+: ", "", lines[j])
                what = fn[:110]; break
        print(f"{m.group(1):>6}% {m.group(2):>13} B  {what}")
    i += 1
