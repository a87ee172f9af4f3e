//! Tests of the config module. Expected strings and behaviours were checked against Debian's
//! redis-server 7.0.15 (see tests/fixtures/redis-7.0.15-config-get-all.tsv for CONFIG GET *).

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

fn args(a: &[&str]) -> Result<Config, StartupError> {
    let owned: Vec<String> = a.iter().map(|s| s.to_string()).collect();
    Config::from_args_with_stdin(&owned, &mut std::io::empty())
}

fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "ferrodis-config-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&d).unwrap();
    fs::canonicalize(d).unwrap()
}

fn load(text: &str) -> Result<Config, StartupError> {
    let mut c = Config::new();
    c.load_str(text, Origin::Text).map(|()| c)
}

fn load_err(text: &str) -> (usize, String, String) {
    match load(text) {
        Err(StartupError::Config {
            line: Some(l),
            reason,
        }) => (l.number, l.text, reason),
        other => panic!("expected a line error for {text:?}, got {other:?}"),
    }
}

fn set(c: &mut Config, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
    let p: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(a, b)| (a.as_bytes(), b.as_bytes()))
        .collect();
    c.set(&p)
}

fn get(c: &Config, name: &str) -> String {
    c.get_one(name)
        .unwrap_or_else(|| panic!("no option {name}"))
}

// ------------------------------------------------------------------ defaults vs real Redis

#[test]
fn defaults_match_real_redis_config_get_all() {
    let fixture = include_str!("../../tests/fixtures/redis-7.0.15-config-get-all.tsv");
    let expected: BTreeMap<&str, &str> = fixture
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split_once('\t').unwrap())
        .collect();
    assert!(expected.len() > 180, "fixture looks truncated");

    // The fixture server was started as `redis-server --port 17379 --save ''`.
    let cfg = args(&["--port", "17379", "--save", ""]).unwrap();
    let ours: BTreeMap<String, String> = cfg.get(b"*").into_iter().collect();
    assert_eq!(
        ours.len(),
        cfg.get(b"*").len(),
        "CONFIG GET * returned duplicates"
    );

    for (name, value) in &expected {
        let got = ours
            .get(*name)
            .unwrap_or_else(|| panic!("missing option {name}"));
        if *name == "dir" {
            // Legitimate difference: the working directory of each process.
            assert!(got.starts_with('/'));
            continue;
        }
        assert_eq!(got, value, "default of {name}");
    }
    // Our only extra option.
    let extra: Vec<&String> = ours
        .keys()
        .filter(|k| !expected.contains_key(k.as_str()))
        .collect();
    assert_eq!(extra, vec!["shards"]);
    assert_eq!(ours["shards"], "16");
}

#[test]
fn hidden_options_only_by_exact_name() {
    let c = Config::new();
    for hidden in [
        "rdb-key-save-delay",
        "key-load-delay",
        "watchdog-period",
        "use-exit-on-panic",
        "loading-process-events-interval-bytes",
    ] {
        assert_eq!(c.get(hidden.as_bytes()).len(), 1, "{hidden}");
        assert!(c.get(b"*").iter().all(|(n, _)| n != hidden));
    }
    assert!(c.get(b"rdb-key*").is_empty());
    assert_eq!(get(&c, "loading-process-events-interval-bytes"), "2097152");
}

// ------------------------------------------------------------------ argv

#[test]
fn argv_options_without_file() {
    let c = args(&["--port", "7000"]).unwrap();
    assert_eq!(c.port(), 7000);
    assert!(c.config_file().is_none());

    let c = args(&["--port 6380"]).unwrap();
    assert_eq!(c.port(), 6380);

    let c = args(&["--save", ""]).unwrap();
    assert!(c.save_params().is_empty());
    assert_eq!(get(&c, "save"), "");
}

#[test]
fn argv_config_file_then_options() {
    let d = temp_dir("argv");
    let file = d.join("redis.conf");
    fs::write(&file, "port 7000\nloglevel debug\n").unwrap();
    let c = args(&[file.to_str().unwrap(), "--port", "7001"]).unwrap();
    assert_eq!(c.port(), 7001);
    assert_eq!(c.loglevel(), LogLevel::Debug);
    assert_eq!(c.config_file(), Some(file.as_path()));

    // A positional argument after the file becomes its own (bad) line, after a blank one.
    let e = args(&[file.to_str().unwrap(), "foo"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 4\n\
         >>> '\"foo\"'\nBad directive or wrong number of arguments"
    );

    // stdin after the file overrides it; options come last.
    let owned = vec![file.to_string_lossy().into_owned(), "-".to_string()];
    let c = Config::from_args_with_stdin(&owned, &mut "loglevel warning\n".as_bytes()).unwrap();
    assert_eq!(c.loglevel(), LogLevel::Warning);
}

#[test]
fn argv_repeated_save_accumulates() {
    // Redis 7.0: the first `save` of the config text replaces the defaults, later ones append.
    assert_eq!(
        get(
            &args(&["--save", "900", "1", "--save", "300", "10"]).unwrap(),
            "save"
        ),
        "900 1 300 10"
    );
    assert_eq!(
        get(&args(&["--save", "900 1 300 10"]).unwrap(), "save"),
        "900 1 300 10"
    );
    assert_eq!(
        get(
            &args(&["--save", "900", "1", "--save", "", "--save", "60", "5"]).unwrap(),
            "save"
        ),
        "60 5"
    );
    // A bare --save followed by another option, or last, means `save ""`.
    let c = args(&["--save", "--loglevel", "debug"]).unwrap();
    assert_eq!(
        (get(&c, "save").as_str(), c.loglevel()),
        ("", LogLevel::Debug)
    );
    let c = args(&["--loglevel", "warning", "--save"]).unwrap();
    assert_eq!(
        (get(&c, "save").as_str(), c.loglevel()),
        ("", LogLevel::Warning)
    );
    // An include ends "file reading" mode, so a later save replaces what it set.
    let d = temp_dir("save");
    let inc = d.join("sv.conf");
    fs::write(&inc, "save 900 1\n").unwrap();
    let c = args(&["--include", inc.to_str().unwrap(), "--save", "10", "10"]).unwrap();
    assert_eq!(get(&c, "save"), "10 10");
}

#[test]
fn argv_bare_option_takes_following_values() {
    // After a bare `--name`, the next argument is a value even if it starts with "--".
    let e = args(&["--port", "--7000"]).unwrap_err();
    assert!(
        e.to_string()
            .ends_with(">>> 'port \"--7000\"'\nargument couldn't be parsed into an integer"),
        "{e}"
    );
    let e = args(&["--port"]).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("at line 2\n>>> 'port'\nwrong number of arguments"),
        "{e}"
    );
    let e = args(&["--port", "1", "2"]).unwrap_err();
    assert!(
        e.to_string()
            .ends_with(">>> 'port \"1\" \"2\"'\nwrong number of arguments"),
        "{e}"
    );
}

#[test]
fn argv_fatal_messages() {
    assert_eq!(
        args(&["--port", "99999"]).unwrap_err().to_string(),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n\
         >>> 'port \"99999\"'\nargument must be between 0 and 65535 inclusive"
    );
    assert_eq!(
        args(&["--replicaof", "localhost", "1", "--cluster-enabled", "yes"]).unwrap_err().to_string(),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nreplicaof directive not allowed in cluster mode"
    );
    let e = args(&["./definitely-missing-ferrodis.conf"]).unwrap_err();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        e.to_string(),
        format!(
            "Fatal error, can't open config file '{}/./definitely-missing-ferrodis.conf': No such file or directory",
            cwd.display()
        )
    );
    let e = args(&["--maxmemory-policy", "foo"]).unwrap_err();
    assert!(e.to_string().ends_with(
        "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, \
         volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"
    ));
}

#[test]
fn argv_directives_kept_for_other_layers() {
    let c = args(&[
        "--list-max-ziplist-entries",
        "5",
        "--lua-replicate-commands",
        "yes",
        "--rename-command",
        "flushall",
        "",
        "--user",
        "bob",
        "on",
        "--mod.opt",
        "a",
        "b",
        "--mod.opt",
        "c",
        "--sentinel",
    ])
    .unwrap();
    let rc = &c.rename_command_directives()[0];
    assert_eq!(rc.args, vec!["flushall".to_string(), String::new()]);
    assert_eq!(
        rc.error("No such command in rename-command").to_string(),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 4\n\
         >>> 'rename-command \"flushall\" \"\"'\nNo such command in rename-command"
    );
    assert_eq!(c.user_directives()[0].args, vec!["bob", "on"]);
    assert_eq!(
        c.module_configs(),
        &[("mod.opt".to_string(), "c".to_string())]
    );

    let e = args(&["--test.foo"]).unwrap_err();
    assert!(e
        .to_string()
        .ends_with(">>> 'test.foo'\nModule config specified without value"));
    let e = args(&["--user"]).unwrap_err();
    assert!(e
        .to_string()
        .ends_with("Bad directive or wrong number of arguments"));
    let e = args(&["--sentinel", "monitor", "m", "1", "2"]).unwrap_err();
    assert!(e
        .to_string()
        .ends_with("sentinel directive while not in sentinel mode"));
}

// ------------------------------------------------------------------ config files

#[test]
fn file_comments_quoting_units_and_case() {
    let c = load(concat!(
        "# comment\n",
        "\n",
        "   \t\n",
        "  PORT 7002  \r\n",
        "requirepass \"a b\\x41\\n\"\n",
        "masterauth 'it\\'s'\n",
        "maxmemory 2GB\n",
        "repl-backlog-size 1k\n",
        "client-query-buffer-limit 3Mb\n",
        "proto-max-bulk-len 2m\n",
        "daemonize YES\n",
        "maxmemory-policy ALLKEYS-lru\n",
        "unixsocketperm 700\n",
        "maxmemory-clients 7%\n",
        "hash-max-ziplist-entries 33\n",
        "bind 127.0.0.1 ::1\n",
        "notify-keyspace-events KEA\n",
        "shutdown-on-sigterm nosave now\n",
        "client-output-buffer-limit \"replica 1gb 1mb 30\"\n",
    ))
    .unwrap();
    assert_eq!(c.port(), 7002);
    assert_eq!(c.requirepass(), Some("a bA\n".to_string()));
    assert_eq!(c.masterauth(), Some("it's".to_string()));
    assert_eq!(c.maxmemory(), 2 * 1024 * 1024 * 1024);
    assert_eq!(c.repl_backlog_size(), 1000);
    assert_eq!(c.client_query_buffer_limit(), 3 * 1024 * 1024);
    assert_eq!(c.proto_max_bulk_len(), 2_000_000);
    assert!(c.daemonize());
    assert_eq!(c.maxmemory_policy(), MaxmemoryPolicy::AllkeysLru);
    assert_eq!(get(&c, "maxmemory-policy"), "allkeys-lru");
    assert_eq!(c.unixsocketperm(), 0o700);
    assert_eq!(get(&c, "unixsocketperm"), "700");
    assert_eq!(get(&c, "maxmemory-clients"), "7%");
    assert_eq!(c.hash_max_listpack_entries(), 33);
    assert_eq!(c.bind(), ["127.0.0.1", "::1"]);
    assert_eq!(get(&c, "notify-keyspace-events"), "AKE");
    assert_eq!(
        c.notify_keyspace_events(),
        notify::ALL | notify::KEYSPACE | notify::KEYEVENT
    );
    assert_eq!(get(&c, "shutdown-on-sigterm"), "nosave now");
    assert_eq!(
        get(&c, "client-output-buffer-limit"),
        "normal 0 0 0 slave 1073741824 1048576 30 pubsub 33554432 8388608 60"
    );
    assert_eq!(
        c.client_output_buffer_limit(ClientClass::Replica)
            .soft_seconds,
        30
    );
}

#[test]
fn file_include_relative_to_dir_and_glob() {
    let d = temp_dir("include");
    fs::create_dir_all(d.join("conf.d")).unwrap();
    fs::write(d.join("conf.d/a.conf"), "tcp-keepalive 11\n").unwrap();
    fs::write(d.join("conf.d/b.conf"), "tcp-keepalive 22\ntimeout 5\n").unwrap();
    fs::write(d.join("extra.conf"), "loglevel verbose\n").unwrap();
    let text = format!(
        "dir {}\ninclude extra.conf\ninclude conf.d/*.conf\ninclude empty.d/*.conf\n",
        d.display()
    );
    let c = load(&text).unwrap();
    assert_eq!(c.loglevel(), LogLevel::Verbose);
    assert_eq!(
        c.tcp_keepalive(),
        22,
        "glob matches are read in sorted order"
    );
    assert_eq!(c.timeout(), 5);
    assert_eq!(c.dir(), d.to_str().unwrap());

    // Errors inside an included file name the included line.
    fs::write(d.join("bad.conf"), "# x\nport\n").unwrap();
    let (n, line, why) = load_err(&format!("dir {}\ninclude bad.conf\n", d.display()));
    assert_eq!(
        (n, line.as_str(), why.as_str()),
        (2, "port", "wrong number of arguments")
    );

    match load("include /nonexistent/ferrodis.conf\n") {
        Err(e @ StartupError::OpenFile { .. }) => assert_eq!(
            e.to_string(),
            "Fatal error, can't open config file '/nonexistent/ferrodis.conf': No such file or directory"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn file_error_messages() {
    let cases: &[(&str, &str)] = &[
        ("foo bar", "Bad directive or wrong number of arguments"),
        ("port", "wrong number of arguments"),
        ("port 1 2", "wrong number of arguments"),
        ("port abc", "argument couldn't be parsed into an integer"),
        ("port 007", "argument couldn't be parsed into an integer"),
        ("port +7", "argument couldn't be parsed into an integer"),
        (
            "port 70000",
            "argument must be between 0 and 65535 inclusive",
        ),
        ("daemonize maybe", "argument must be 'yes' or 'no'"),
        ("port \"7000", "Unbalanced quotes in configuration line"),
        ("port \"7000\"x", "Unbalanced quotes in configuration line"),
        ("maxmemory abc", "argument must be a memory value"),
        ("maxmemory -1", "argument must be a memory value"),
        ("maxmemory 1tb", "argument must be a memory value"),
        (
            "maxmemory-clients 101%",
            "percentage argument must be less or equal to 100",
        ),
        (
            "maxmemory-clients -5",
            "argument must be a memory or percent value",
        ),
        (
            "unixsocketperm 778",
            "argument couldn't be parsed as an octal number",
        ),
        (
            "unixsocketperm 1000",
            "argument must be between 0 and 777 inclusive",
        ),
        (
            "maxclients 0",
            "argument must be between 1 and 4294967295 inclusive",
        ),
        (
            "hash-max-listpack-entries -1",
            "argument must be between 0 and 9223372036854775807 inclusive",
        ),
        (
            "proto-max-bulk-len 1k",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        ("shards 0", "argument must be between 1 and 1024 inclusive"),
        (
            "loglevel loud",
            "argument(s) must be one of the following: debug, verbose, notice, warning",
        ),
        ("loglevel debug notice", "wrong number of arguments"),
        (
            "shutdown-on-sigint save nosave",
            "shutdown options SAVE and NOSAVE can't be used simultaneously",
        ),
        ("save 100", "Invalid save parameters"),
        ("save 0 1", "Invalid save parameters"),
        ("save 10 x", "Invalid save parameters"),
        (
            "client-output-buffer-limit normal 1 2",
            "Wrong number of arguments in buffer limit configuration.",
        ),
        (
            "client-output-buffer-limit master 1 2 3",
            "Invalid client class specified in buffer limit configuration.",
        ),
        (
            "client-output-buffer-limit normal 1 2 -3",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
        ("oom-score-adj-values 1 2", "wrong number of arguments"),
        (
            "oom-score-adj-values 1 2 3000",
            "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
        ),
        (
            "notify-keyspace-events Q",
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
        ),
        (
            "bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
            "Too many bind addresses specified.",
        ),
        ("replicaof host", "wrong number of arguments"),
        ("replicaof host 70000", "Invalid master port"),
        (
            "latency-tracking-info-percentiles 50 101",
            "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
        ),
        (
            "latency-tracking-info-percentiles a",
            "Invalid latency-tracking-info-percentiles parameters",
        ),
        (
            "dbfilename a/b",
            "dbfilename can't be a path, just a filename",
        ),
        ("appendfilename \"\"", "appendfilename can't be empty"),
        (
            "appendfilename a\\b",
            "appendfilename can't be a path, just a filename",
        ),
        (
            "appenddirname x/y",
            "appenddirname can't be a path, just a dirname",
        ),
        (
            "cluster-announce-hostname a_b",
            "Hostnames may only contain alphanumeric characters, hyphens or dots",
        ),
        (
            "proc-title-template {foo}",
            "template format is invalid or contains unknown variables",
        ),
        (
            "proc-title-template \"\"",
            "template format is invalid or contains unknown variables",
        ),
        ("dir /nonexistent-ferrodis-dir", "No such file or directory"),
        ("dir /etc/passwd", "Not a directory"),
        (
            "activedefrag yes",
            "Active defragmentation cannot be enabled: it requires a Redis server compiled with a \
             modified Jemalloc like the one shipped by default with the Redis source distribution",
        ),
        (
            "sentinel monitor a b c",
            "sentinel directive while not in sentinel mode",
        ),
        ("x.y", "Module config specified without value"),
        ("include", "Bad directive or wrong number of arguments"),
    ];
    for (line, reason) in cases {
        let (n, text, why) = load_err(&format!("# header\n{line}\n"));
        assert_eq!(
            (n, text.as_str(), why.as_str()),
            (2, *line, *reason),
            "line {line:?}"
        );
    }
    // The banner itself.
    let e = load("\n\nfoo bar\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 3\n\
         >>> 'foo bar'\nBad directive or wrong number of arguments"
    );
}

#[test]
fn file_accepts_redis_edge_syntax() {
    let c = load("maxmemory \"\"\nhz 1000\nbind \"\"\nlatency-tracking-info-percentiles \"\"\n")
        .unwrap();
    assert_eq!(c.maxmemory(), 0);
    assert_eq!(get(&c, "hz"), "500", "out-of-range hz is clamped");
    assert!(c.bind().is_empty());
    assert_eq!(get(&c, "latency-tracking-info-percentiles"), "");
    let c = load("hz 0\nmaxmemory 99999999999999999999\nreplicaof NO ONE\nunixsocketperm 0777\n")
        .unwrap();
    assert_eq!(c.hz(), 1);
    assert_eq!(get(&c, "maxmemory"), "18446744073709551615");
    assert_eq!(c.replicaof(), None);
    assert_eq!(c.unixsocketperm(), 0o777);
    let c = load("replicaof 10.0.0.1 6380\nslave-priority 5\nlua-time-limit 7\n").unwrap();
    assert_eq!(c.replicaof(), Some(("10.0.0.1".to_string(), 6380)));
    assert_eq!(get(&c, "replica-priority"), "5");
    assert_eq!(c.busy_reply_threshold(), 7);
}

// ------------------------------------------------------------------ CONFIG GET

#[test]
fn config_get_globs_and_aliases() {
    let c = Config::new();
    let mut names: Vec<String> = c
        .get(b"*max-*-entries*")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "hash-max-listpack-entries",
            "hash-max-ziplist-entries",
            "set-max-intset-entries",
            "zset-max-listpack-entries",
            "zset-max-ziplist-entries",
        ]
    );
    assert_eq!(
        c.get(b"Port"),
        vec![("Port".to_string(), "6379".to_string())]
    );
    assert_eq!(
        c.get(b"LUA*"),
        vec![("lua-time-limit".to_string(), "5000".to_string())]
    );
    assert_eq!(
        c.get(b"slaveof"),
        vec![("slaveof".to_string(), String::new())]
    );
    assert!(c.get(b"nope").is_empty());
    // Several patterns: each name once.
    let got = c.get_many(&[b"port", b"p?rt", b"PORT", b"[pq]ort"]);
    assert_eq!(got, vec![("port".to_string(), "6379".to_string())]);
    let got = c.get_many(&[b"maxmemory", b"maxmemory*"]);
    assert_eq!(got.iter().filter(|(n, _)| n == "maxmemory").count(), 1);
    assert_eq!(got.len(), 5);
}

#[test]
fn stringmatch_semantics() {
    use super::glob::string_match as m;
    assert!(m(b"*", b"anything", false));
    assert!(m(b"h?llo", b"hello", false));
    assert!(m(b"h[ae]llo", b"hallo", false));
    assert!(!m(b"h[^e]llo", b"hello", false));
    assert!(m(b"h[a-b]llo", b"hbllo", false));
    assert!(m(b"h[b-a]llo", b"hallo", false));
    assert!(m(b"h\\*llo", b"h*llo", false));
    assert!(!m(b"h\\*llo", b"hello", false));
    assert!(m(b"HELLO", b"hello", true));
    assert!(!m(b"HELLO", b"hello", false));
    assert!(m(b"a*b*c*d", b"aXXbYYcZZd", false));
    assert!(!m(b"a*b", b"a", false));
    assert!(m(b"abc*", b"abc", false));
    assert!(m(b"[abc", b"a", false), "unterminated class");
    // Pathological pattern finishes quickly thanks to the skip-longer-matches cut-off.
    let s = vec![b'a'; 60];
    assert!(!m(b"a*a*a*a*a*a*a*a*a*a*a*a*b", &s, false));
}

// ------------------------------------------------------------------ CONFIG SET

#[test]
fn config_set_errors_are_redis_strings() {
    let mut c = Config::new();
    assert_eq!(
        set(&mut c, &[("foo", "bar")]).unwrap_err(),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        set(&mut c, &[("maxmemory", "abc")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
    );
    assert_eq!(
        set(&mut c, &[("timeout", "abc")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"
    );
    assert_eq!(
        set(&mut c, &[("daemonize", "yes")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
    );
    assert_eq!(
        set(&mut c, &[("dir", "/tmp")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
    );
    assert_eq!(
        set(&mut c, &[("dbfilename", "x.rdb")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"
    );
    // Duplicates name the argument as typed; set failures name the option.
    assert_eq!(
        set(&mut c, &[("PORT", "1"), ("PORT", "2")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'PORT') - duplicate parameter"
    );
    assert_eq!(
        set(&mut c, &[("PORT", "abc")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer"
    );
    assert_eq!(
        set(&mut c, &[("lua-time-limit", "abc")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'lua-time-limit') - argument couldn't be parsed into an integer"
    );
    // The first problem wins.
    assert!(set(&mut c, &[("daemonize", "yes"), ("foo", "2")])
        .unwrap_err()
        .contains("immutable"));
    assert!(set(&mut c, &[("foo", "1"), ("daemonize", "yes")])
        .unwrap_err()
        .contains("Unknown option"));
    assert_eq!(
        set(&mut c, &[("shards", "4")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'shards') - can't set immutable config"
    );
    assert_eq!(
        set(&mut c, &[("save", "3600  1")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"
    );
    assert_eq!(
        set(&mut c, &[("timeout", " 5")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"
    );
    let loading = SetContext {
        loading: true,
        client_is_local: false,
    };
    assert_eq!(
        c.set_with(&[(b"appendonly", b"yes")], loading).unwrap_err(),
        "LOADING Redis is loading the dataset in memory"
    );
}

#[test]
fn config_set_is_atomic() {
    let mut c = Config::new();
    let before = c.values().clone();
    let err = set(
        &mut c,
        &[("maxmemory", "1"), ("save", "10 10"), ("timeout", "-1")],
    )
    .unwrap_err();
    assert_eq!(
        err,
        "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"
    );
    assert_eq!(c.values(), &before, "nothing applied");

    let changed = set(
        &mut c,
        &[
            ("maxmemory", "1gb"),
            ("timeout", "0"),
            ("maxmemory-policy", "ALLKEYS-LFU"),
        ],
    )
    .unwrap();
    assert_eq!(
        changed,
        vec!["maxmemory", "maxmemory-policy"],
        "unchanged timeout not reported"
    );
    assert_eq!(get(&c, "maxmemory"), "1073741824");
    assert_eq!(get(&c, "maxmemory-policy"), "allkeys-lfu");

    // An option and its alias are distinct names for duplicate detection (as in Redis 7.0).
    let changed = set(
        &mut c,
        &[
            ("hash-max-ziplist-entries", "5"),
            ("hash-max-listpack-entries", "6"),
        ],
    )
    .unwrap();
    assert_eq!(changed, vec!["hash-max-listpack-entries"]);
    assert_eq!(c.hash_max_listpack_entries(), 6);
}

#[test]
fn config_set_value_forms() {
    let mut c = Config::new();
    set(&mut c, &[("maxmemory-clients", "10%")]).unwrap();
    assert_eq!(get(&c, "maxmemory-clients"), "10%");
    set(&mut c, &[("maxmemory-clients", "1mb")]).unwrap();
    assert_eq!(get(&c, "maxmemory-clients"), "1048576");
    assert_eq!(c.maxmemory_clients_bytes(), 1024 * 1024);

    set(&mut c, &[("hz", "1000")]).unwrap();
    assert_eq!(get(&c, "hz"), "500");
    set(&mut c, &[("hz", "0")]).unwrap();
    assert_eq!(get(&c, "hz"), "1");

    set(&mut c, &[("notify-keyspace-events", "KEA")]).unwrap();
    assert_eq!(get(&c, "notify-keyspace-events"), "AKE");
    set(&mut c, &[("notify-keyspace-events", "Kgm$lshzxetdn")]).unwrap();
    assert_eq!(get(&c, "notify-keyspace-events"), "AKm");
    set(&mut c, &[("notify-keyspace-events", "Ex")]).unwrap();
    assert_eq!(get(&c, "notify-keyspace-events"), "xE");

    set(&mut c, &[("shutdown-on-sigint", "force now save")]).unwrap();
    assert_eq!(get(&c, "shutdown-on-sigint"), "save now force");
    set(&mut c, &[("shutdown-on-sigint", "default")]).unwrap();
    assert_eq!(get(&c, "shutdown-on-sigint"), "default");
    assert!(set(&mut c, &[("shutdown-on-sigint", "")])
        .unwrap_err()
        .ends_with("argument(s) must be one of the following: default, save, nosave, now, force"));

    set(&mut c, &[("oom-score-adj", "relative")]).unwrap();
    assert_eq!(
        get(&c, "oom-score-adj"),
        "yes",
        "relative is printed under its first name"
    );

    set(&mut c, &[("save", "3600 1 300 100")]).unwrap();
    assert_eq!(get(&c, "save"), "3600 1 300 100");
    assert_eq!(
        c.save_params()[1],
        SaveParam {
            seconds: 300,
            changes: 100
        }
    );
    set(&mut c, &[("save", "")]).unwrap();
    assert!(c.save_params().is_empty());

    set(
        &mut c,
        &[(
            "client-output-buffer-limit",
            "normal 1mb 2kb 3 pubsub 0 0 0",
        )],
    )
    .unwrap();
    assert_eq!(
        get(&c, "client-output-buffer-limit"),
        "normal 1048576 2048 3 slave 268435456 67108864 60 pubsub 0 0 0"
    );

    set(
        &mut c,
        &[("latency-tracking-info-percentiles", "99.90 0.5 100")],
    )
    .unwrap();
    assert_eq!(get(&c, "latency-tracking-info-percentiles"), "99.9 0.5 100");

    set(&mut c, &[("maxmemory", ""), ("requirepass", "secret")]).unwrap();
    assert_eq!(c.maxmemory(), 0);
    assert_eq!(c.requirepass().as_deref(), Some("secret"));
    set(&mut c, &[("requirepass", "")]).unwrap();
    assert_eq!(c.requirepass(), None);
    assert!(is_sensitive_option(b"REQUIREPASS"));
    assert!(!is_sensitive_option(b"port"));

    set(&mut c, &[("bind", "127.0.0.1 ::1")]).unwrap();
    assert_eq!(c.bind(), ["127.0.0.1", "::1"]);
    assert_eq!(get(&c, "bind"), "127.0.0.1 ::1");
}

#[test]
fn protected_configs_follow_enable_protected_configs() {
    let d = temp_dir("protected");
    let mut c = load("enable-protected-configs local\n").unwrap();
    let remote = SetContext::default();
    let local = SetContext {
        client_is_local: true,
        loading: false,
    };
    let dir = d.to_str().unwrap().as_bytes();
    assert!(c
        .set_with(&[(b"dir", dir)], remote)
        .unwrap_err()
        .contains("can't set protected config"));
    assert_eq!(c.set_with(&[(b"dir", dir)], local).unwrap(), vec!["dir"]);
    assert_eq!(c.dir(), d.to_str().unwrap());
    assert_eq!(get(&c, "dir"), d.to_str().unwrap());

    let mut c = load("enable-protected-configs yes\n").unwrap();
    assert!(c
        .set(&[(b"dbfilename", b"x/y.rdb")])
        .unwrap_err()
        .ends_with("dbfilename can't be a path, just a filename"));
    c.set(&[(b"dbfilename", b"x.rdb")]).unwrap();
    assert_eq!(c.dbfilename(), "x.rdb");
}

#[test]
fn set_and_apply_restores_on_apply_failure() {
    let mut c = Config::new();
    let mut calls = Vec::new();
    let err = c
        .set_and_apply(
            &[(b"port", b"7777"), (b"timeout", b"9")],
            SetContext::default(),
            |cfg, changed| {
                calls.push((cfg.port(), changed.to_vec()));
                if cfg.port() == 7777 {
                    Err(ApplyError {
                        option: "port",
                        message: "Unable to listen on this port. Check server logs.".into(),
                    })
                } else {
                    Ok(())
                }
            },
        )
        .unwrap_err();
    assert_eq!(
        err,
        "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs."
    );
    assert_eq!((c.port(), c.timeout()), (6379, 0));
    assert_eq!(calls.len(), 2, "apply re-run with the restored values");
    assert_eq!(calls[1].0, 6379);
}

// ------------------------------------------------------------------ CONFIG REWRITE

#[test]
fn rewrite_matches_redis_layout() {
    let d = temp_dir("rewrite");
    let file = d.join("rw.conf");
    fs::write(d.join("inc.conf"), "tcp-keepalive 100\n").unwrap();
    fs::write(
        &file,
        format!(
            "# top comment\nport 17380\n\nsave 900 1\nsave 300 10\n# middle\nmaxmemory 1gb\n\
             hash-max-ziplist-entries 100\ntimeout 0\nloglevel notice\nbind 127.0.0.1\ndir {dir}\n\
             include {dir}/inc.conf\nrequirepass \"a b\"\nlist-max-ziplist-entries 5\n",
            dir = d.display()
        ),
    )
    .unwrap();
    let mut c = args(&[file.to_str().unwrap()]).unwrap();
    set(
        &mut c,
        &[
            ("maxmemory", "3mb"),
            ("hash-max-listpack-entries", "512"),
            ("timeout", "10"),
            ("notify-keyspace-events", "Ex"),
            ("maxmemory-clients", "5%"),
            ("client-output-buffer-limit", "pubsub 1mb 0 0"),
            ("oom-score-adj-values", "1 2 3"),
        ],
    )
    .unwrap();
    c.rewrite(c.config_file().unwrap()).unwrap();
    let dir = d.display();
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        format!(
            "# top comment\nport 17380\n\nsave 900 1\nsave 300 10\n# middle\nmaxmemory 3mb\n\
             hash-max-listpack-entries 512\ntimeout 10\nloglevel notice\nbind 127.0.0.1\ndir \"{dir}\"\n\
             include {dir}/inc.conf\nrequirepass \"a b\"\n# ??? list-max-ziplist-entries 5\n\n\
             # Generated by CONFIG REWRITE\ntcp-keepalive 100\nmaxmemory-clients 5%\n\
             client-output-buffer-limit pubsub 1mb 0 0\noom-score-adj-values 1 2 3\n\
             notify-keyspace-events \"xE\"\nlatency-tracking-info-percentiles 50 99 99.9\n"
        )
    );

    // Second round: values back to defaults, unset password, default bind, no save.
    set(
        &mut c,
        &[
            ("save", ""),
            ("bind", "* -::*"),
            ("maxmemory", "0"),
            ("requirepass", ""),
            ("latency-tracking-info-percentiles", ""),
            ("tcp-keepalive", "300"),
            ("hash-max-listpack-entries", "100"),
        ],
    )
    .unwrap();
    c.rewrite(&file).unwrap();
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        format!(
            "# top comment\nport 17380\n\nsave \"\"\n\n# middle\nmaxmemory 0\nhash-max-listpack-entries 100\n\
             timeout 10\nloglevel notice\n\ndir \"{dir}\"\ninclude {dir}/inc.conf\n\n\
             # ??? list-max-ziplist-entries 5\n\n# Generated by CONFIG REWRITE\ntcp-keepalive 300\n\
             maxmemory-clients 5%\nclient-output-buffer-limit normal 0 0 0\noom-score-adj-values 1 2 3\n\
             notify-keyspace-events \"xE\"\nlatency-tracking-info-percentiles \"\"\n\n\
             client-output-buffer-limit pubsub 1mb 0 0\n"
        )
    );

    // Round trip: loading the rewritten file gives the same values.
    let again = args(&[file.to_str().unwrap()]).unwrap();
    assert_eq!(again.values(), c.values());
    // No temp files left behind.
    let leftovers: Vec<_> = fs::read_dir(&d)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("rw.conf."))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn rewrite_new_file_and_users() {
    let d = temp_dir("rewrite-new");
    let file = d.join("new.conf");
    let mut c = Config::new();
    set(&mut c, &[("maxmemory", "100"), ("requirepass", "p\"w")]).unwrap();
    c.values.replicaof = Some(("10.1.1.1".into(), 6380));
    let users = vec!["default on nopass ~* &* +@all".to_string()];
    c.rewrite_with_users(&file, Some(&users)).unwrap();
    let text = fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# Generated by CONFIG REWRITE");
    for expected in [
        "maxmemory 100",
        "requirepass \"p\\\"w\"",
        "replicaof 10.1.1.1 6380",
        "save 3600 1",
        "save 300 100",
        "save 60 10000",
        "latency-tracking-info-percentiles 50 99 99.9",
        "user default on nopass ~* &* +@all",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{text}");
    }
    assert!(lines.iter().any(|l| l.starts_with("dir \"/")));
    // Defaults are not written.
    assert!(!lines
        .iter()
        .any(|l| l.starts_with("port ") || l.starts_with("bind ")));
    let back = args(&[file.to_str().unwrap()]).unwrap();
    assert_eq!(back.values(), c.values());
}

// ------------------------------------------------------------------ low-level parsers

#[test]
fn split_args_semantics() {
    use super::parse::split_args as s;
    let v = |x: &[&str]| x.iter().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>();
    assert_eq!(s(b"  set a  b "), Some(v(&["set", "a", "b"])));
    assert_eq!(s(b"\"a b\" 'c d'"), Some(v(&["a b", "c d"])));
    assert_eq!(s(b"\"\\x41\\n\\t\\\"\""), Some(v(&["A\n\t\""])));
    assert_eq!(s(b"\"\\xZZ\""), Some(v(&["xZZ"])));
    assert_eq!(s(b"'it\\'s'"), Some(v(&["it's"])));
    assert_eq!(s(b"'a\\nb'"), Some(v(&["a\\nb"])));
    assert_eq!(s(b"\"\""), Some(v(&[""])));
    assert_eq!(s(b""), Some(vec![]));
    assert_eq!(s(b"\"abc"), None);
    assert_eq!(s(b"'abc"), None);
    assert_eq!(s(b"\"a\"b"), None);
    assert_eq!(s(b"a\"b c\""), Some(v(&["ab c"])));
}

#[test]
fn number_parsers() {
    use super::parse::{memtoull, string2ll};
    assert_eq!(memtoull(b"1k"), Some(1000));
    assert_eq!(memtoull(b"1KB"), Some(1024));
    assert_eq!(memtoull(b"1m"), Some(1_000_000));
    assert_eq!(memtoull(b"1Mb"), Some(1 << 20));
    assert_eq!(memtoull(b"1g"), Some(1_000_000_000));
    assert_eq!(memtoull(b"1gB"), Some(1 << 30));
    assert_eq!(memtoull(b"12b"), Some(12));
    assert_eq!(memtoull(b""), Some(0));
    assert_eq!(memtoull(b"kb"), Some(0));
    assert_eq!(memtoull(b"+1"), None);
    assert_eq!(memtoull(b" 1"), None);
    assert_eq!(memtoull(b"1 kb"), None);
    assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
    assert_eq!(string2ll(b"9223372036854775808"), None);
    assert_eq!(string2ll(b"-0"), None);
    assert_eq!(string2ll(b"01"), None);
    assert_eq!(string2ll(b"0"), Some(0));
}

#[test]
fn typed_accessors() {
    let c = load(concat!(
        "enable-debug-command local\nenable-module-command yes\nappendfsync always\n",
        "slowlog-log-slower-than -1\nlatency-monitor-threshold 5\nbusy-reply-threshold 100\n",
        "shards 1\ndatabases 4\nlist-max-ziplist-size 8\nunixsocket /tmp/x.sock\npidfile /tmp/x.pid\n",
    ))
    .unwrap();
    assert_eq!(c.enable_debug_command(), ProtectedAction::Local);
    assert!(c.enable_debug_command().allows(true) && !c.enable_debug_command().allows(false));
    assert_eq!(c.enable_module_command(), ProtectedAction::Yes);
    assert_eq!(c.enable_protected_configs(), ProtectedAction::No);
    assert_eq!(c.appendfsync(), AppendFsync::Always);
    assert_eq!(c.slowlog_log_slower_than(), -1);
    assert_eq!(c.latency_monitor_threshold(), 5);
    assert_eq!(c.busy_reply_threshold(), 100);
    assert_eq!(c.shards(), 1);
    assert_eq!(c.databases(), 4);
    assert_eq!(c.list_max_listpack_size(), 8);
    assert_eq!(c.unixsocket(), Some("/tmp/x.sock".to_string()));
    assert_eq!(c.pidfile(), "/tmp/x.pid");
    assert_eq!(c.get_int("maxmemory-samples"), Some(5));
    assert_eq!(c.get_bool("protected-mode"), Some(true));
    assert_eq!(c.get_int("nope"), None);
}
