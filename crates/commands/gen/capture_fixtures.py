#!/usr/bin/env python3
"""Capture COMMAND INFO / COMMAND DOCS / COMMAND GETKEYS answers from a real
redis-server 7.0.15 into test fixtures for ferrodis-commands.

Usage: capture_fixtures.py [port [sentinel-port]]
  a redis-server must listen on 127.0.0.1:port (default 16379), and, when
  sentinel-port is given, a redis-sentinel on that port: its commands go to
  sentinel_command_info.txt / sentinel_command_docs.txt.

Replies are read in RESP3 and rendered in a small canonical text form that the
Rust tests reproduce from our `Reply` values (see tests/common/render.rs):
  bulk "x" (JSON escaped)  status +x  integer :n  null _
  array [a,b]  set ~[a,b]  map %{k:v,...}
Redis's prose (command summaries, history notes, key-spec notes) is replaced by
placeholders before anything is written, so the fixtures carry only protocol
facts. Dictionary-ordered parts (subcommands) are sorted.
"""
import json
import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        d, self.buf = self.buf[:n], self.buf[n + 2:]
        return d

    def read(self):
        l = self.line()
        t, rest = l[:1], l[1:]
        if t == b"+":
            return ("status", rest.decode())
        if t == b"-":
            return ("error", rest.decode())
        if t == b":":
            return ("int", int(rest))
        if t == b"_":
            return ("null", None)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return ("null", None)
            return ("bulk", self.exact(n).decode())
        if t in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return ("null", None)
            kind = "set" if t == b"~" else "array"
            return (kind, [self.read() for _ in range(n)])
        if t == b"%":
            n = int(rest)
            return ("map", [(self.read(), self.read()) for _ in range(n)])
        raise ValueError("unexpected reply type %r" % l)


def render(v):
    kind, val = v
    if kind == "bulk":
        return json.dumps(val)
    if kind == "status":
        return "+" + val
    if kind == "error":
        return "-" + val
    if kind == "int":
        return ":%d" % val
    if kind == "null":
        return "_"
    if kind == "array":
        return "[" + ",".join(render(x) for x in val) + "]"
    if kind == "set":
        return "~[" + ",".join(render(x) for x in val) + "]"
    if kind == "map":
        return "%{" + ",".join(render(k) + ":" + render(x) for k, x in val) + "}"
    raise ValueError(kind)


def normalize(v):
    """Strip prose and sort dictionary-ordered collections (same rules as the Rust side)."""
    kind, val = v
    if kind in ("array", "set"):
        items = [normalize(x) for x in val]
        # A COMMAND INFO entry: [name, arity, flags, first, last, step, cats, tips, specs, subcommands]
        if kind == "array" and len(items) == 10 and items[0][0] == "bulk" and items[1][0] == "int":
            subs = items[9]
            items[9] = (subs[0], sorted(subs[1], key=render))
        return (kind, items)
    if kind == "map":
        out = []
        for k, x in val:
            key = k[1] if k[0] == "bulk" else None
            if key in ("summary", "notes"):
                x = ("bulk", "<%s>" % key)
            elif key == "history":
                x = (x[0], [(e[0], [e[1][0], ("bulk", "<text>")]) for e in x[1]])
            else:
                x = normalize(x)
                if key == "subcommands" and x[0] == "map":
                    x = ("map", sorted(x[1], key=lambda kv: render(kv[0])))
            out.append((normalize(k), x))
        return ("map", out)
    return v


# Command lines for the GETKEYS fixture: spec-driven commands, every special
# get-keys function, and malformed inputs that exercise the error paths.
GETKEYS_CASES = [
    "get k", "set k v", "set k v get", "set k v nx GET", "set k v ex 10", "mset a 1 b 2 c 3",
    "mget a b c", "del a b c", "exists a", "lmove a b left right", "rpoplpush a b",
    "blpop a b c 0", "brpop a 0", "blmove a b left right 0", "smove a b m", "rename a b",
    "renamenx a b", "copy a b", "copy a b db 1 replace", "sort k", "sort k store d",
    "sort k by w* get # store d limit 0 1", "sort k limit 0 1 store d", "sort k store a store b",
    "sort k STORE", "sort k get store store d", "sort_ro k by x get y",
    "zunionstore d 2 a b", "zunionstore d 2 a b weights 1 2", "zunionstore d 0 a",
    "zunionstore d 3 a b", "zunionstore d x a", "zunionstore d -1 a", "zinterstore d 1 a aggregate sum",
    "zdiffstore d 2 a b", "zunion 2 a b", "zunion 2 a b withscores", "zinter 1 a", "zdiff 3 a b c",
    "zdiff 0 a", "zunion 5 a b", "zintercard 2 a b", "zintercard 2 a b limit 3", "sintercard 2 a b",
    "sintercard 0 a", "eval s 0", "eval s 1 a", "eval s 2 a b c", "eval s 3 a", "eval s x a",
    "evalsha s 1 a", "eval_ro s 1 a", "evalsha_ro s 2 a b", "fcall f 1 a b", "fcall_ro f 0",
    "fcall f -1 a", "xread streams a b 0 0", "xread count 1 block 0 streams a 0", "xread streams a",
    "xread streams a b 0", "xread foo streams a 0", "xreadgroup group g c streams a 0",
    "xreadgroup group g c count 2 noack streams a b > >", "xreadgroup group g c streams a",
    "migrate h p k 0 1", "migrate h p \"\" 0 1 keys a b", "migrate h p \"\" 0 1 copy replace keys a b c",
    "migrate h p \"\" 0 1 auth pw keys a", "migrate h p \"\" 0 1 auth2 u pw keys a b",
    "migrate h p k 0 1 keys a b", "georadius k 1 2 3 m", "georadius k 1 2 3 m store d",
    "georadius k 1 2 3 m storedist d", "georadius k 1 2 3 m store d storedist e",
    "georadius k 1 2 3 m withdist store", "georadiusbymember k m 3 km store d",
    "georadius_ro k 1 2 3 m", "geosearchstore d s frommember m byradius 1 m",
    "lmpop 2 a b left", "lmpop 2 a b left count 2", "lmpop 0 a left", "blmpop 0 2 a b left",
    "blmpop 0 1 a right count 3", "zmpop 1 a min", "zmpop 2 a b max count 1", "bzmpop 0 2 a b min",
    "bitfield k get u8 0", "bitfield k set u8 0 1", "bitfield k overflow wrap get u8 0",
    "bitfield k incrby u8 0 1", "bitfield k foo", "bitfield k", "bitfield_ro k get u8 0",
    "getex k persist", "pfcount a b", "pfmerge d a b", "xadd s * f v", "xgroup create s g $",
    "xinfo stream s", "memory usage k", "object encoding k", "lcs a b", "bitop and d a b c",
    "msetnx a 1 b 2", "hset h f v", "touch a b", "unlink a b", "watch a b", "spublish ch m",
    "ssubscribe a b", "sunsubscribe", "sunsubscribe a", "publish ch m", "ping", "get",
    "set k", "nosuchcmd a", "config get x", "client list", "mset a", "mset a 1 b", "get a b",
    "xread", "xautoclaim s g c 0 0", "geosearch k frommember m byradius 1 m", "sort",
    "sort_ro k", "smismember k a b", "zrangestore d s 0 1", "lpos k e rank 1", "georadius k 1 2 3",
    "wait 0 0", "debug object k", "object help", "restore k 0 payload", "dump k",
    "expiretime k", "linsert k before a b", "setrange k 0 v", "substr k 0 1", "getdel k",
    "msetnx a", "xclaim s g c 0 id", "zadd k 1 m", "sdiffstore d a b", "smembers k",
]


# Exact bytes in RESP2 and RESP3 for replies without prose or hash order.
RAW_CASES = [
    "COMMAND INFO get mget nosuch get|x",
    "COMMAND INFO zunionstore xread",
    "COMMAND GETKEYS set a b",
    "COMMAND GETKEYSANDFLAGS lmove a b left right",
    "COMMAND GETKEYS eval s 0",
    "COMMAND GETKEYS nosuch",
    "COMMAND DOCS nosuch",
    "COMMAND LIST FILTERBY PATTERN xgroup|create?onsumer",
    "COMMAND COUNT",
]


def raw_reply(port, proto, line):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"HELLO %d\r\n" % proto)
    c = Conn.__new__(Conn)
    c.s, c.buf = s, b""
    c.read()
    start = c.buf
    args = line.split(" ")
    out = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args)
    s.sendall(out + b"PING\r\n")
    data = start
    while not data.endswith(b"+PONG\r\n"):
        data += s.recv(65536)
    s.close()
    return data[: -len(b"+PONG\r\n")]


def split_case(line):
    out = []
    for tok in line.split(" "):
        out.append("" if tok == '""' else tok)
    return out


def capture_info_docs(c, prefix):
    names = sorted(x[1] for x in c.send("COMMAND", "LIST")[1] if "|" not in x[1])
    with open(os.path.join(FIXTURES, prefix + "command_info.txt"), "w") as f:
        for n in names:
            r = c.send("COMMAND", "INFO", n)
            f.write("%s\t%s\n" % (n, render(normalize(r[1][0]))))
    with open(os.path.join(FIXTURES, prefix + "command_docs.txt"), "w") as f:
        for n in names:
            r = c.send("COMMAND", "DOCS", n)
            assert r[0] == "map" and len(r[1]) == 1
            f.write("%s\t%s\n" % (n, render(normalize(r[1][0][1]))))
    return names


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 16379
    if len(sys.argv) > 2:
        s = Conn(int(sys.argv[2]))
        assert s.send("HELLO", "3")[0] == "map"
        print("captured %d sentinel commands" % len(capture_info_docs(s, "sentinel_")))
    c = Conn(port)
    assert c.send("HELLO", "3")[0] == "map"
    names = capture_info_docs(c, "")
    with open(os.path.join(FIXTURES, "command_list.txt"), "w") as f:
        for x in sorted(x[1] for x in c.send("COMMAND", "LIST")[1]):
            f.write(x + "\n")
    with open(os.path.join(FIXTURES, "getkeys.txt"), "w") as f:
        f.write("# case<TAB>COMMAND GETKEYS reply<TAB>COMMAND GETKEYSANDFLAGS reply (from redis-server 7.0.15)\n")
        for case in GETKEYS_CASES:
            args = split_case(case)
            a = render(c.send("COMMAND", "GETKEYS", *args))
            b = render(c.send("COMMAND", "GETKEYSANDFLAGS", *args))
            f.write("%s\t%s\t%s\n" % (case, a, b))
    with open(os.path.join(FIXTURES, "raw_replies.txt"), "w") as f:
        f.write("# proto<TAB>command<TAB>exact reply bytes, hex (from redis-server 7.0.15)\n")
        for case in RAW_CASES:
            for proto in (2, 3):
                f.write("%d\t%s\t%s\n" % (proto, case, raw_reply(port, proto, case).hex()))
    print("captured %d commands, %d getkeys cases" % (len(names), len(GETKEYS_CASES)))


if __name__ == "__main__":
    main()
