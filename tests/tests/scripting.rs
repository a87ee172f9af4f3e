//! Lua scripting over real sockets: EVAL/EVALSHA/SCRIPT, errors in Redis 7.0's format,
//! conversions, read-only scripts, atomicity and propagation-relevant behaviour, BUSY and
//! SCRIPT KILL while a script runs on the executor thread, FUNCTION/FCALL, and a sandbox suite
//! that tries the known escape routes (none may escape or crash the server).

use ferrodis_resp::Frame;
use ferrodis_tests::{bulk, simple, InProcess, RespConn};
use std::time::{Duration, Instant};

fn server() -> InProcess {
    InProcess::start().expect("start ferrodis")
}

fn eval(c: &mut RespConn, script: &str, args: &[&str]) -> Frame {
    let mut v: Vec<&[u8]> = vec![b"EVAL", script.as_bytes()];
    v.extend(args.iter().map(|a| a.as_bytes()));
    c.cmd(&v).expect("reply")
}

fn err_text(f: &Frame) -> String {
    match f {
        Frame::Error(e) => String::from_utf8_lossy(e).into_owned(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The script's SHA1, as SCRIPT LOAD reports it.
fn sha1(c: &mut RespConn, s: &str) -> String {
    match c.cmd(&[b"SCRIPT", b"LOAD", s.as_bytes()]).unwrap() {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("SCRIPT LOAD: {other:?}"),
    }
}

#[test]
fn eval_evalsha_and_script_cache() {
    let s = server();
    let mut c = s.connect().unwrap();
    assert_eq!(
        eval(
            &mut c,
            "return {KEYS[1], ARGV[1], 3.99, true, false}",
            &["1", "k", "a"]
        ),
        Frame::Array(vec![
            bulk("k"),
            bulk("a"),
            Frame::Integer(3),
            Frame::Integer(1),
            Frame::NullBulk
        ])
    );
    let body = "return redis.call('incr', KEYS[1])";
    let sha = sha1(&mut c, body);
    assert_eq!(sha, "2bab3b661081db58bd2341920e0ba7cf5dc77b25");
    assert_eq!(
        c.cmd(&[b"SCRIPT", b"EXISTS", sha.as_bytes(), b"ffff"])
            .unwrap(),
        Frame::Array(vec![Frame::Integer(1), Frame::Integer(0)])
    );
    assert_eq!(
        c.cmd(&[b"EVALSHA", sha.as_bytes(), b"1", b"n"]).unwrap(),
        Frame::Integer(1)
    );
    assert_eq!(
        c.cmd(&[b"EVALSHA", sha.to_uppercase().as_bytes(), b"1", b"n"])
            .unwrap(),
        Frame::Integer(2)
    );
    assert_eq!(c.cmd(&[b"SCRIPT", b"FLUSH"]).unwrap(), simple("OK"));
    assert_eq!(
        err_text(&c.cmd(&[b"EVALSHA", sha.as_bytes(), b"1", b"n"]).unwrap()),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    assert_eq!(
        err_text(&eval(&mut c, "return 1", &["2", "a"])),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        err_text(&eval(&mut c, "return 1", &["-1"])),
        "ERR Number of keys can't be negative"
    );
}

#[test]
fn errors_have_redis_7_format() {
    let s = server();
    let mut c = s.connect().unwrap();
    c.cmd_str("SET s foo").unwrap();
    let body = "return redis.call('incr','s')";
    assert_eq!(
        err_text(&eval(&mut c, body, &["0"])),
        format!(
            "ERR value is not an integer or out of range script: {}, on @user_script:1.",
            sha1(&mut c, body)
        )
    );
    assert_eq!(
        err_text(&eval(&mut c, "return redis.pcall('incr','s')", &["0"])),
        "ERR value is not an integer or out of range"
    );
    let body = "return a";
    assert_eq!(
        err_text(&eval(&mut c, body, &["0"])),
        format!("ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: {}, on @user_script:1.", sha1(&mut c, body))
    );
    assert!(
        err_text(&eval(&mut c, "return redis.call('nosuch')", &["0"]))
            .starts_with("ERR Unknown Redis command called from script script:")
    );
    assert!(err_text(&eval(&mut c, "return redis.call('get')", &["0"]))
        .starts_with("ERR Wrong number of args calling Redis command from script script:"));
    assert!(
        err_text(&eval(&mut c, "return redis.call('multi')", &["0"]))
            .starts_with("ERR This Redis command is not allowed from script script:")
    );
    assert!(err_text(&eval(&mut c, "return foo(", &["0"]))
        .starts_with("ERR Error compiling script (new function): user_script:1:"));
    assert_eq!(
        err_text(&eval(&mut c, "return {err='MY custom'}", &["0"])),
        "MY custom"
    );
    assert_eq!(eval(&mut c, "return {ok='fine'}", &["0"]), simple("fine"));
    assert_eq!(
        eval(&mut c, "return redis.status_reply('x')", &["0"]),
        simple("x")
    );
    assert_eq!(
        err_text(&eval(&mut c, "return redis.error_reply('E x')", &["0"])),
        "E x"
    );
}

#[test]
fn read_only_scripts_and_shebang_flags() {
    let s = server();
    let mut c = s.connect().unwrap();
    let e = c
        .cmd(&[b"EVAL_RO", b"return redis.call('set','x','1')", b"0"])
        .unwrap();
    assert!(err_text(&e).starts_with("ERR Write commands are not allowed from read-only scripts."));
    let e = eval(
        &mut c,
        "#!lua flags=no-writes\nreturn redis.call('set','x','1')",
        &["0"],
    );
    assert!(err_text(&e).starts_with("ERR Write commands are not allowed from read-only scripts."));
    let e = c.cmd(&[b"EVAL_RO", b"#!lua\nreturn 1", b"0"]).unwrap();
    assert_eq!(
        err_text(&e),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    let e = eval(&mut c, "#!lua flags=bogus\nreturn 1", &["0"]);
    assert_eq!(err_text(&e), "ERR Unexpected flag in script shebang: bogus");
    assert_eq!(
        c.cmd(&[
            b"EVAL_RO",
            b"#!lua flags=no-writes\nreturn redis.call('get','x')",
            b"0"
        ])
        .unwrap(),
        Frame::NullBulk
    );
}

#[test]
fn resp3_conversions() {
    let s = server();
    let mut c = s.connect().unwrap();
    c.cmd_str("HSET h f v").unwrap();
    // RESP2 script client: a map comes back flattened.
    assert_eq!(
        eval(&mut c, "return redis.call('hgetall','h')", &["0"]),
        Frame::Array(vec![bulk("f"), bulk("v")])
    );
    // RESP3 script client: {map=...}, {double=...}, booleans.
    assert_eq!(
        eval(
            &mut c,
            "redis.setresp(3) local m = redis.call('hgetall','h') return m.map.f",
            &["0"]
        ),
        bulk("v")
    );
    assert_eq!(eval(&mut c, "return {double=3.5}", &["0"]), bulk("3.5"));
    assert_eq!(
        err_text(&eval(&mut c, "redis.setresp(4)", &["0"]))
            .split(" script:")
            .next()
            .unwrap(),
        "ERR RESP version must be 2 or 3."
    );
}

#[test]
fn scripts_are_atomic_and_inside_multi() {
    let s = server();
    let mut a = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    // A script doing 2000 INCRs while another client INCRs: no interleaving inside the script.
    let mut handles = Vec::new();
    for _ in 0..4 {
        let addr = s.addr();
        handles.push(std::thread::spawn(move || {
            let mut c = RespConn::connect(addr).unwrap();
            for _ in 0..50 {
                let r = c
                    .cmd(&[
                        b"EVAL",
                        b"local v = redis.call('get','n') or '0' for i = 1, 20 do redis.call('incr','n') end return tonumber(redis.call('get','n')) - tonumber(v)",
                        b"0",
                    ])
                    .unwrap();
                assert_eq!(r, Frame::Integer(20));
            }
        }));
    }
    for _ in 0..200 {
        b.cmd_str("INCR n").unwrap();
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(a.cmd_str("GET n").unwrap(), bulk("4200"));
    // EVAL queued in MULTI runs at EXEC.
    a.cmd_str("MULTI").unwrap();
    assert_eq!(
        eval(&mut a, "return redis.call('incr','n')", &["0"]),
        simple("QUEUED")
    );
    assert_eq!(
        a.cmd_str("EXEC").unwrap(),
        Frame::Array(vec![Frame::Integer(4201)])
    );
    // Blocking commands can not run from scripts (as in Redis 7.0: they are flagged noscript,
    // and XREAD's BLOCK option is refused).
    assert!(err_text(&eval(
        &mut a,
        "return redis.call('blpop','nolist',0)",
        &["0"]
    ))
    .starts_with("ERR This Redis command is not allowed from script"));
    assert!(err_text(&eval(
        &mut a,
        "return redis.pcall('xread','BLOCK',0,'STREAMS','s','$')",
        &["0"]
    ))
    .contains("xread command is not allowed with BLOCK option from scripts"));
}

/// Connections on the embedder's multi-threaded runtime (a script runs in block_in_place).
#[test]
fn busy_script_kill_and_unkillable() {
    busy_script(InProcess::start_with(&[("busy-reply-threshold", "100")]).unwrap());
}

/// Every connection on one single-threaded runtime, as `redis-server` serves them: the busy
/// script is suspended so that the thread it runs on answers the other client.
#[test]
fn busy_script_on_one_connection_thread() {
    busy_script(InProcess::start_pooled(1, &[("busy-reply-threshold", "100")]).unwrap());
}

fn busy_script(s: InProcess) {
    let mut a = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    assert_eq!(
        err_text(&b.cmd_str("SCRIPT KILL").unwrap()),
        "NOTBUSY No scripts in execution right now."
    );
    a.send(&[b"EVAL", b"local i = 0 while true do i = i + 1 end", b"0"])
        .unwrap();
    let start = Instant::now();
    // Other clients are served (with BUSY) while the script runs.
    loop {
        match b.cmd_str("PING").unwrap() {
            Frame::Error(e) if e.starts_with(b"BUSY") => break,
            _ => assert!(start.elapsed() < Duration::from_secs(5), "never got BUSY"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        err_text(&b.cmd_str("FUNCTION KILL").unwrap()),
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    assert_eq!(b.cmd_str("SCRIPT KILL").unwrap(), simple("OK"));
    let r = a.read_frame().unwrap();
    assert!(
        err_text(&r).starts_with("ERR Script killed by user with SCRIPT KILL..."),
        "{r:?}"
    );
    assert_eq!(b.cmd_str("PING").unwrap(), simple("PONG"));

    // pcall cannot swallow the kill.
    a.send(&[
        b"EVAL",
        b"local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end",
        b"0",
    ])
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(b.cmd_str("SCRIPT KILL").unwrap(), simple("OK"));
    assert!(err_text(&a.read_frame().unwrap()).contains("killed by user"));

    // A script that wrote can not be killed; it ends by itself here.
    a.send(&[
        b"EVAL",
        b"redis.call('set','w','1') local t = redis.call('time') local s = tonumber(t[1]) while tonumber(redis.call('time')[1]) < s + 2 do end return 1",
        b"0",
    ])
    .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(err_text(&b.cmd_str("SCRIPT KILL").unwrap()).starts_with("UNKILLABLE"));
    assert_eq!(a.read_frame().unwrap(), Frame::Integer(1));
}

#[test]
fn functions_load_call_list_dump_restore() {
    let s = server();
    let mut c = s.connect().unwrap();
    let lib = "#!lua name=mylib\nredis.register_function('set_it', function(keys, args) return redis.call('set', keys[1], args[1]) end)\nredis.register_function{function_name='get_it', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}";
    assert_eq!(
        c.cmd(&[b"FUNCTION", b"LOAD", lib.as_bytes()]).unwrap(),
        bulk("mylib")
    );
    assert_eq!(
        err_text(&c.cmd(&[b"FUNCTION", b"LOAD", lib.as_bytes()]).unwrap()),
        "ERR Library 'mylib' already exists"
    );
    assert_eq!(c.cmd_str("FCALL set_it 1 k v").unwrap(), simple("OK"));
    assert_eq!(c.cmd_str("FCALL_RO GET_IT 1 k").unwrap(), bulk("v"));
    assert_eq!(
        err_text(&c.cmd_str("FCALL_RO set_it 1 k v").unwrap()),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    assert_eq!(
        err_text(&c.cmd_str("FCALL nosuch 0").unwrap()),
        "ERR Function not found"
    );
    let Frame::Bulk(dump) = c.cmd_str("FUNCTION DUMP").unwrap() else {
        panic!("dump");
    };
    assert_eq!(c.cmd_str("FUNCTION FLUSH").unwrap(), simple("OK"));
    assert_eq!(
        err_text(&c.cmd_str("FCALL set_it 1 k v").unwrap()),
        "ERR Function not found"
    );
    assert_eq!(
        c.cmd(&[b"FUNCTION", b"RESTORE", &dump]).unwrap(),
        simple("OK")
    );
    assert_eq!(c.cmd_str("FCALL_RO get_it 1 k").unwrap(), bulk("v"));
    let mut bad = dump.to_vec();
    if let Some(last) = bad.last_mut() {
        *last ^= 1;
    }
    assert_eq!(
        err_text(&c.cmd(&[b"FUNCTION", b"RESTORE", &bad]).unwrap()),
        "ERR DUMP payload version or checksum are wrong"
    );
    let e = c
        .cmd(&[
            b"FUNCTION",
            b"LOAD",
            b"#!lua name=lib2\nreturn math.random()",
        ])
        .unwrap();
    assert!(err_text(&e).contains("attempted to access nonexistent global variable 'math'"));
    let e = c
        .cmd(&[b"FUNCTION", b"LOAD", b"#!lua name=lib3\nredis.register_function('x', function() return redis.register_function('y', function() end) end)"])
        .unwrap();
    assert_eq!(e, bulk("lib3"));
    assert!(err_text(&c.cmd_str("FCALL x 0").unwrap())
        .contains("attempt to call field 'register_function' (a nil value)"));
    let e = c
        .cmd(&[b"FUNCTION", b"LOAD", b"#!lua name=lib4\nlocal lib = redis\nlib.register_function('y', function() lib.register_function('z', function() end) end)"])
        .unwrap();
    assert_eq!(e, bulk("lib4"));
    assert!(err_text(&c.cmd_str("FCALL y 0").unwrap())
        .contains("can only be called on FUNCTION LOAD command"));
    assert_eq!(
        c.cmd(&[
            b"FUNCTION",
            b"LOAD",
            b"#!lua name=\"quoted\"\nredis.register_function('q', function() return 1 end)"
        ])
        .unwrap(),
        bulk("quoted")
    );
}

/// Escape routes out of the sandbox: each must fail inside the script and leave the server
/// serving.
#[test]
fn sandbox_escapes_fail() {
    let s = server();
    let mut c = s.connect().unwrap();
    let attempts: &[(&str, &str)] = &[
        ("return loadstring(string.dump(function() return 1 end))()", "attempt to call a nil value"),
        ("return loadstring('\\27Lua')()", "attempt to call a nil value"),
        ("local done = false return load(function() if done then return nil end done = true return '\\27Lua' end)()", "attempt to call a nil value"),
        ("return debug.getinfo(1)", "nonexistent global variable 'debug'"),
        ("return os.execute('true')", "nonexistent global variable 'os'"),
        ("return io.open('/etc/passwd')", "nonexistent global variable 'io'"),
        ("return require('os')", "nonexistent global variable 'require'"),
        ("return package.loadlib('x','y')", "nonexistent global variable 'package'"),
        ("dofile('/etc/passwd')", "nonexistent global variable 'dofile'"),
        ("loadfile('/etc/passwd')", "nonexistent global variable 'loadfile'"),
        ("print('x')", "nonexistent global variable 'print'"),
        ("setmetatable(_G, {})", "Attempt to modify a readonly table"),
        ("local g = getmetatable(_G) g.__index = {}", "Attempt to modify a readonly table"),
        ("rawset(_G, 'x', 1)", "Attempt to modify a readonly table"),
        ("rawset(redis, 'call', 1)", "Attempt to modify a readonly table"),
        ("redis.call = function() end", "Attempt to modify a readonly table"),
        ("string.rep = nil", "Attempt to modify a readonly table"),
        ("getmetatable('').__index = {}", "Attempt to modify a readonly table"),
        ("_G = {}", "Attempt to modify a readonly table"),
        ("setfenv(1, {})", ""),
        ("local function f(n) return f(n + 1) + 1 end return f(1)", "stack overflow"),
        ("return string.rep('x', 1024 * 1024 * 1024)", "not enough memory"),
        ("local t = {} local s = string.rep('y', 1024 * 1024) for i = 1, 4096 do t[i] = s .. i end", "not enough memory"),
    ];
    for (script, expect) in attempts {
        let r = eval(&mut c, script, &["0"]);
        match &r {
            Frame::Error(e) => {
                let e = String::from_utf8_lossy(e);
                assert!(e.contains(expect), "{script}: {e}");
            }
            other if expect.is_empty() => {
                let _ = other;
            }
            other => panic!("{script} did not fail: {other:?}"),
        }
        assert_eq!(c.cmd_str("PING").unwrap(), simple("PONG"), "after {script}");
    }
    // Scripts do not leak globals into each other, and the sandbox is intact afterwards.
    assert!(err_text(&eval(&mut c, "return x", &["0"])).contains("nonexistent global variable 'x'"));
    assert_eq!(
        eval(&mut c, "return redis.call('ping')", &["0"]),
        simple("PONG")
    );
    assert_eq!(eval(&mut c, "return ('x'):upper()", &["0"]), bulk("X"));
}
