#!/usr/bin/env python3
"""Generate ferrodis's command metadata table (crates/commands/src/table/data.rs).

Input: the command descriptions of Redis 7.0.15 (src/commands/*.json), read for
protocol facts only: names, arity, flags, ACL categories, key specs, argument
structure, group, since, complexity, doc flags, deprecation, tips.
Redis's prose is NOT carried over. Our own wording comes from files beside this
script:
  summaries.tsv  name<TAB>summary              (one line per command and subcommand)
  history.tsv    name<TAB>version<TAB>change   (same entries and order as Redis's history)
  notes.tsv      name<TAB>spec index<TAB>note  (for key specs that carry a note)
The script fails when one of these is missing an entry or has a stale one.

Derived data is computed here, once, the way Redis 7.0 computes it at startup
(server.c): implicit ACL categories (setImplicitACLCategories), the legacy
(first, last, step) key range and the `movablekeys` flag
(populateCommandLegacyRangeSpec).

Usage: gen_table.py [path/to/redis/src/commands]
Python 3, standard library only.
"""
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SRC = "/work/redis-src/redis-7.0.15/src/commands"
OUT = os.path.join(HERE, "..", "src", "table", "data.rs")

# Bit positions follow Redis's server.h so that numeric dumps compare easily.
CMD_FLAGS = {
    "WRITE": 0, "READONLY": 1, "DENYOOM": 2, "MODULE": 3, "ADMIN": 4, "PUBSUB": 5,
    "NOSCRIPT": 6, "BLOCKING": 8, "LOADING": 9, "STALE": 10, "SKIP_MONITOR": 11,
    "SKIP_SLOWLOG": 12, "ASKING": 13, "FAST": 14, "NO_AUTH": 15, "MAY_REPLICATE": 16,
    "SENTINEL": 17, "ONLY_SENTINEL": 18, "NO_MANDATORY_KEYS": 19, "PROTECTED": 20,
    "MODULE_GETKEYS": 21, "MODULE_NO_CLUSTER": 22, "NO_ASYNC_LOADING": 23,
    "NO_MULTI": 24, "MOVABLE_KEYS": 25, "ALLOW_BUSY": 26, "MODULE_GETCHANNELS": 27,
    "TOUCHES_ARBITRARY_KEYS": 28,
}
ACL_CATS = [
    "KEYSPACE", "READ", "WRITE", "SET", "SORTEDSET", "LIST", "HASH", "STRING", "BITMAP",
    "HYPERLOGLOG", "GEO", "STREAM", "PUBSUB", "ADMIN", "FAST", "SLOW", "BLOCKING",
    "DANGEROUS", "CONNECTION", "TRANSACTION", "SCRIPTING",
]
KEY_FLAGS = ["RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE", "NOT_KEY",
             "INCOMPLETE", "VARIABLE_FLAGS"]
DOC_FLAGS = {"DEPRECATED": 0, "SYSCMD": 1}
ARG_TYPES = {
    "string": "String", "integer": "Integer", "double": "Double", "key": "Key",
    "pattern": "Pattern", "unix-time": "UnixTime", "pure-token": "PureToken",
    "oneof": "OneOf", "block": "Block",
}
GROUPS = {
    "generic": "generic", "string": "string", "list": "list", "set": "set",
    "sorted_set": "sorted-set", "hash": "hash", "pubsub": "pubsub",
    "transactions": "transactions", "connection": "connection", "server": "server",
    "scripting": "scripting", "hyperloglog": "hyperloglog", "cluster": "cluster",
    "sentinel": "sentinel", "geo": "geo", "stream": "stream", "bitmap": "bitmap",
}
# Redis's get-keys callbacks, as our GetKeysProc variants.
# genericGetKeys(store, numkeys index, first key index, step).
GETKEYS = {
    "sintercardGetKeys": "GetKeysProc::Generic { store: 0, numkeys: 1, first: 2, step: 1 }",
    "zunionInterDiffStoreGetKeys": "GetKeysProc::Generic { store: 1, numkeys: 2, first: 3, step: 1 }",
    "zunionInterDiffGetKeys": "GetKeysProc::Generic { store: 0, numkeys: 1, first: 2, step: 1 }",
    "evalGetKeys": "GetKeysProc::Generic { store: 0, numkeys: 2, first: 3, step: 1 }",
    "functionGetKeys": "GetKeysProc::Generic { store: 0, numkeys: 2, first: 3, step: 1 }",
    "lmpopGetKeys": "GetKeysProc::Generic { store: 0, numkeys: 1, first: 2, step: 1 }",
    "blmpopGetKeys": "GetKeysProc::Generic { store: 0, numkeys: 2, first: 3, step: 1 }",
    "zmpopGetKeys": "GetKeysProc::Generic { store: 0, numkeys: 1, first: 2, step: 1 }",
    "bzmpopGetKeys": "GetKeysProc::Generic { store: 0, numkeys: 2, first: 3, step: 1 }",
    "sortROGetKeys": "GetKeysProc::SortRo",
    "sortGetKeys": "GetKeysProc::Sort",
    "migrateGetKeys": "GetKeysProc::Migrate",
    "georadiusGetKeys": "GetKeysProc::Georadius",
    "xreadGetKeys": "GetKeysProc::Xread",
    "setGetKeys": "GetKeysProc::Set",
    "bitfieldGetKeys": "GetKeysProc::Bitfield",
}


def die(msg):
    sys.stderr.write("gen_table.py: %s\n" % msg)
    sys.exit(1)


def read_tsv(name, ncols):
    rows = []
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != ncols or not all(cols):
                die("%s:%d: expected %d non-empty tab-separated columns" % (name, n, ncols))
            rows.append(cols)
    return rows


def c_value(raw):
    """The value Redis ends up with for a JSON string it pasted between double
    quotes into generated C (utils/generate-command-code.py does that). Only
    MIGRATE's `""` token differs from its JSON text: as C it is two adjacent
    empty literals, so Redis reports an empty token."""
    src = '"%s"' % raw
    out, i, n = [], 0, len(src)
    while i < n:
        if src[i] != '"':
            die("cannot read %r as a C string literal" % raw)
        i += 1
        while i < n and src[i] != '"':
            if src[i] == "\\" and i + 1 < n:
                out.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"'}.get(src[i + 1], src[i + 1]))
                i += 2
            else:
                out.append(src[i])
                i += 1
        i += 1
    return "".join(out)


def same_words(ours, theirs):
    """Guard for our own wording: true when a text of ours equals Redis's prose
    up to case and punctuation."""
    norm = lambda t: " ".join("".join(ch for ch in t.lower() if ch.isalnum() or ch == " ").split())
    return norm(ours) == norm(theirs)


def rs_str(s):
    return json.dumps(s)  # a JSON string literal is a valid Rust string literal for our ASCII data


def rs_opt(s):
    return "None" if s is None else "Some(%s)" % rs_str(s)


def flag_bits(names, table):
    bits = 0
    for n in names:
        if n not in table:
            die("unknown flag %s" % n)
        bits |= 1 << table[n]
    return bits


def key_flag_bits(names):
    return flag_bits(names, {n: i for i, n in enumerate(KEY_FLAGS)})


def acl_bits(names):
    return flag_bits(names, {n: i for i, n in enumerate(ACL_CATS)})


def implicit_acl(flags, cats):
    """server.c setImplicitACLCategories."""
    has = lambda f: flags & (1 << CMD_FLAGS[f])
    cat = lambda c: 1 << ACL_CATS.index(c)
    if has("WRITE"):
        cats |= cat("WRITE")
    if has("READONLY") and not cats & cat("SCRIPTING"):
        cats |= cat("READ")
    if has("ADMIN"):
        cats |= cat("ADMIN") | cat("DANGEROUS")
    if has("PUBSUB"):
        cats |= cat("PUBSUB")
    if has("FAST"):
        cats |= cat("FAST")
    if has("BLOCKING"):
        cats |= cat("BLOCKING")
    if not cats & cat("FAST"):
        cats |= cat("SLOW")
    return cats


def sym(bits, names, module):
    """Render a bit set as `module::NAME | ...` using Redis's flag names."""
    parts = ["%s::%s" % (module, n) for i, n in sorted((i, n) for n, i in names.items()) if bits & (1 << i)]
    return " | ".join(parts) if parts else "0"


def u32(x):
    return x & 0xFFFFFFFF


def legacy_range(specs, flags):
    """server.c populateCommandLegacyRangeSpec. Returns (first, last, step, flags) where
    first/last/step are what COMMAND INFO reports (last made absolute when >= 0)."""
    movable = 1 << CMD_FLAGS["MOVABLE_KEYS"]
    incomplete = 1 << KEY_FLAGS.index("INCOMPLETE")
    if not specs:
        return 0, 0, 0, flags

    def is_index_range(s):
        return "index" in s["bs"] and "range" in s["fk"]

    if len(specs) == 1 and is_index_range(specs[0]):
        s = specs[0]
        if s["flags"] & incomplete:
            flags |= movable
        pos = s["bs"]["index"]
        last = s["fk"]["range"]["lastkey"]
        return pos, (last + pos if last >= 0 else last), s["fk"]["range"]["step"], flags

    first, last, prev_last = None, 0, 0
    for s in specs:
        if not is_index_range(s):
            flags |= movable
            continue
        pos = s["bs"]["index"]
        rng = s["fk"]["range"]
        if rng["step"] != 1 or (prev_last and prev_last != pos - 1):
            flags |= movable
            continue
        if s["flags"] & incomplete:
            flags |= movable
        first = pos if first is None else min(first, pos)
        abs_last = rng["lastkey"]
        if abs_last >= 0:
            abs_last += pos
        # Redis compares as unsigned so that a negative (relative-to-end) index wins.
        last = abs_last if u32(abs_last) > u32(last) else last
        prev_last = last
    if first is None:
        return 0, 0, 0, flags | movable
    return first, last, 1, flags


def parse_spec(raw, cmd, idx, notes):
    bs = raw["begin_search"]
    fk = raw["find_keys"]
    s = {"flags": key_flag_bits(raw.get("flags", [])), "bs": {}, "fk": {}}
    if "index" in bs:
        s["bs"]["index"] = bs["index"]["pos"]
        bs_rs = "BeginSearch::Index { pos: %d }" % bs["index"]["pos"]
    elif "keyword" in bs:
        s["bs"]["keyword"] = bs["keyword"]
        bs_rs = "BeginSearch::Keyword { keyword: %s, startfrom: %d }" % (
            rs_str(bs["keyword"]["keyword"]), bs["keyword"]["startfrom"])
    elif "unknown" in bs:
        bs_rs = "BeginSearch::Unknown"
    else:
        die("%s: bad begin_search" % cmd)
    if "range" in fk:
        r = fk["range"]
        s["fk"]["range"] = r
        fk_rs = "FindKeys::Range { lastkey: %d, keystep: %d, limit: %d }" % (
            r["lastkey"], r["step"], r["limit"])
    elif "keynum" in fk:
        k = fk["keynum"]
        fk_rs = "FindKeys::Keynum { keynumidx: %d, firstkey: %d, keystep: %d }" % (
            k["keynumidx"], k["firstkey"], k["step"])
    elif "unknown" in fk:
        fk_rs = "FindKeys::Unknown"
    else:
        die("%s: bad find_keys" % cmd)
    note = None
    if "notes" in raw:
        note = notes.pop((cmd, idx), None)
        if note is None:
            die("notes.tsv has no note for %s key spec %d" % (cmd, idx))
        if same_words(note, raw["notes"]):
            die("notes.tsv: note %s %d repeats Redis's text" % (cmd, idx))
    s["rs"] = "KeySpec { notes: %s, flags: %s, begin_search: %s, find_keys: %s }" % (
        rs_opt(note), sym(s["flags"], {n: i for i, n in enumerate(KEY_FLAGS)}, "key_flags"),
        bs_rs, fk_rs)
    return s


def arg_rs(a, indent):
    flags = []
    if a.get("optional"):
        flags.append("arg_flags::OPTIONAL")
    if a.get("multiple"):
        flags.append("arg_flags::MULTIPLE")
    if a.get("multiple_token"):
        flags.append("arg_flags::MULTIPLE_TOKEN")
    token = a.get("token")
    subs = ""
    if a["type"] in ("oneof", "block"):
        inner = ",\n".join(arg_rs(x, indent + 4) for x in a["arguments"])
        subs = "&[\n%s,\n%s]" % (inner, " " * (indent + 4))
    else:
        subs = "&[]"
    pad = " " * indent
    return (
        "%sArgSpec { name: %s, arg_type: ArgType::%s, key_spec_index: %s, token: %s, "
        "since: %s, deprecated_since: %s, flags: %s, args: %s }"
    ) % (
        pad,
        rs_str(a["name"].lower()),
        ARG_TYPES[a["type"]],
        "Some(%d)" % a["key_spec_index"] if "key_spec_index" in a else "None",
        rs_opt(c_value(token.upper()) if token else None),
        rs_opt(a.get("since")),
        rs_opt(a.get("deprecated_since")),
        " | ".join(flags) if flags else "0",
        subs,
    )


def command_rs(full, declared, desc, subs, texts, indent):
    summaries, history, notes = texts
    pad = " " * indent
    flags = flag_bits(desc.get("command_flags", []), CMD_FLAGS)
    specs = [parse_spec(s, full, i, notes) for i, s in enumerate(desc.get("key_specs", []))]
    first, last, step, flags = legacy_range(specs, flags)
    cats = implicit_acl(flags, acl_bits(desc.get("acl_categories", [])))
    summary = summaries.pop(full, None)
    if summary is None:
        die("summaries.tsv has no summary for %s" % full)
    if same_words(summary, desc.get("summary", "")):
        die("summaries.tsv: the summary of %s repeats Redis's text; write our own" % full)
    hist = []
    for ver, prose in desc.get("history", []):
        mine = history.get(full, [])
        if not mine or mine[0][0] != ver:
            die("history.tsv: expected %s %s next" % (full, ver))
        if same_words(mine[0][1], prose):
            die("history.tsv: %s %s repeats Redis's text" % (full, ver))
        hist.append(mine.pop(0))
    if full in history and not history[full]:
        del history[full]
    doc_flags = flag_bits(desc.get("doc_flags", []), DOC_FLAGS)
    gk = desc.get("get_keys_function")
    if gk and gk not in GETKEYS:
        die("%s: unknown get_keys_function %s" % (full, gk))
    tips = [t.lower() for t in desc.get("command_tips", [])]
    args = desc.get("arguments", [])
    lines = [
        "%sCommandMeta {" % pad,
        "%s    name: %s," % (pad, rs_str(full)),
        "%s    declared_name: %s," % (pad, rs_str(declared)),
        "%s    arity: %d," % (pad, desc["arity"]),
        "%s    flags: %s," % (pad, sym(flags, CMD_FLAGS, "cmd_flags")),
        "%s    acl_categories: %s," % (pad, sym(cats, {n: i for i, n in enumerate(ACL_CATS)}, "acl_cat")),
        "%s    key_specs: &[%s]," % (pad, ", ".join(s["rs"] for s in specs)),
        "%s    legacy_range: (%d, %d, %d)," % (pad, first, last, step),
        "%s    getkeys: %s," % (pad, GETKEYS[gk] if gk else "GetKeysProc::None"),
        "%s    group: %s," % (pad, rs_str(GROUPS[desc["group"]])),
        "%s    since: %s," % (pad, rs_str(desc["since"])),
        "%s    complexity: %s," % (pad, rs_opt(desc.get("complexity"))),
        "%s    summary: %s," % (pad, rs_str(summary)),
        "%s    doc_flags: %s," % (pad, sym(doc_flags, DOC_FLAGS, "doc_flags")),
        "%s    deprecated_since: %s," % (pad, rs_opt(desc.get("deprecated_since"))),
        "%s    replaced_by: %s," % (pad, rs_opt(desc.get("replaced_by"))),
        "%s    history: &[%s]," % (pad, ", ".join("(%s, %s)" % (rs_str(v), rs_str(t)) for v, t in hist)),
        "%s    tips: &[%s]," % (pad, ", ".join(rs_str(t) for t in tips)),
    ]
    if args:
        lines.append("%s    args: &[" % pad)
        for a in args:
            lines.append(arg_rs(a, indent + 8) + ",")
        lines.append("%s    ]," % pad)
    else:
        lines.append("%s    args: &[]," % pad)
    if subs:
        lines.append("%s    subcommands: &[" % pad)
        for sub_declared, sub_desc in subs:
            sub_full = "%s|%s" % (full, sub_declared)
            lines.append(command_rs(sub_full, sub_declared, sub_desc, [], texts, indent + 8) + ",")
        lines.append("%s    ]," % pad)
    else:
        lines.append("%s    subcommands: &[]," % pad)
    lines.append("%s}" % pad)
    return "\n".join(lines)


M64 = (1 << 64) - 1
PHF_BUCKETS = 128


def phf_hash(name, seed):
    """FNV-1a (64 bit) of the lowercase name with a seeded basis; meta.rs has the twin."""
    h = 0xCBF29CE484222325 ^ ((seed * 0x9E3779B97F4A7C15) & M64)
    for b in name.lower().encode():
        h ^= b
        h = (h * 0x100000001B3) & M64
    return h


def build_phf(names):
    """Hash-and-displace perfect hash: bucket = h(name, 0) % PHF_BUCKETS, then
    slot = h(name, disp[bucket]) % nslots, every slot holding at most one name."""
    nslots = 1
    while nslots < 2 * len(names):
        nslots *= 2
    buckets = [[] for _ in range(PHF_BUCKETS)]
    for i, n in enumerate(names):
        buckets[phf_hash(n, 0) % PHF_BUCKETS].append(i)
    slots = [0] * nslots  # 1 + index into COMMANDS; 0 = empty
    disp = [0] * PHF_BUCKETS
    for b in sorted(range(PHF_BUCKETS), key=lambda b: -len(buckets[b])):
        if not buckets[b]:
            continue
        for d in range(1, 1 << 16):
            want = [phf_hash(names[i], d) % nslots for i in buckets[b]]
            if len(set(want)) == len(want) and all(slots[w] == 0 for w in want):
                for i, w in zip(buckets[b], want):
                    slots[w] = i + 1
                disp[b] = d
                break
        else:
            die("no perfect hash displacement found")
    return disp, slots


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SRC
    tops, subs = {}, {}
    for path in sorted(glob.glob(os.path.join(src, "*.json"))):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        for name, desc in doc.items():
            if "container" in desc:
                subs.setdefault(desc["container"].lower(), []).append((name.lower(), desc))
            else:
                tops[name.lower()] = desc
    if not tops:
        die("no command JSON files under %s" % src)
    for container in subs:
        if container not in tops:
            die("container %s has no JSON of its own" % container)

    summaries = {n: s for n, s in read_tsv("summaries.tsv", 2)}
    history = {}
    for n, v, t in read_tsv("history.tsv", 3):
        history.setdefault(n, []).append((v, t))
    notes = {(n, int(i)): t for n, i, t in read_tsv("notes.tsv", 3)}
    texts = (summaries, history, notes)

    names = sorted(tops)
    max_len = max([len(n) for n in names] + [len(d) for v in subs.values() for d, _ in v])
    body = []
    for n in names:
        s = sorted(subs.get(n, []), key=lambda x: x[0])
        body.append(command_rs(n, n, tops[n], s, texts, 4) + ",")
    for leftover, what in ((summaries, "summaries.tsv"), (history, "history.tsv"), (notes, "notes.tsv")):
        if leftover:
            die("%s has entries for unknown commands: %s" % (what, sorted(leftover)))

    out = [
        "// @generated by crates/commands/gen/gen_table.py from the Redis 7.0.15 command",
        "// descriptions (facts only) and our own texts in gen/*.tsv. Do not edit by hand.",
        "",
        "use crate::meta::{",
        "    acl_cat, arg_flags, cmd_flags, doc_flags, key_flags, ArgSpec, ArgType, BeginSearch,",
        "    CommandMeta, FindKeys, GetKeysProc, KeySpec,",
        "};",
        "",
        "/// Length of the longest command or subcommand name (as declared, without `|`).",
        "pub(crate) const MAX_NAME_LEN: usize = %d;" % max_len,
        "",
        "/// Every top-level command, sorted by name (byte order) for binary search.",
        "pub(crate) static COMMANDS: [CommandMeta; %d] = [" % len(names),
    ]
    out.extend(body)
    out.append("];")
    disp, slots = build_phf(names)
    out += [
        "",
        "/// Perfect hash of the top-level names (see `meta::lookup`): displacement per bucket.",
        "pub(crate) static PHF_DISP: [u16; %d] = [%s];" % (len(disp), ", ".join(map(str, disp))),
        "",
        "/// Slot -> 1 + index into `COMMANDS` (0: empty).",
        "pub(crate) static PHF_SLOTS: [u16; %d] = [%s];" % (len(slots), ", ".join(map(str, slots))),
    ]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print("wrote %s: %d commands, %d subcommands" % (
        os.path.relpath(OUT), len(names), sum(len(v) for v in subs.values())))


if __name__ == "__main__":
    main()
