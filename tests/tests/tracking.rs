//! Client-side caching over real sockets: RESP3 invalidation pushes, REDIRECT to a RESP2
//! `__redis__:invalidate` subscriber, BCAST prefixes with NOLOOP, OPTIN with CLIENT
//! CACHING, flush invalidations, invalidations after the reply of the command that caused
//! them, CLIENT TRACKINGINFO / GETREDIR and Redis's option errors.

use ferrodis_resp::Frame;
use ferrodis_tests::{bulk, simple, InProcess, RespConn};

fn server() -> InProcess {
    InProcess::start().expect("start ferrodis")
}

fn resp3(s: &InProcess) -> RespConn {
    let mut c = s.connect().expect("connect");
    c.cmd_str("HELLO 3").expect("hello");
    c
}

fn invalidate(keys: &[&str]) -> Frame {
    Frame::Push(vec![
        bulk("invalidate"),
        Frame::Array(keys.iter().map(bulk).collect()),
    ])
}

fn err(s: &str) -> Frame {
    Frame::Error(s.as_bytes().to_vec().into())
}

#[test]
fn resp3_client_is_invalidated_once_after_its_read() {
    let s = server();
    let mut c = resp3(&s);
    let mut w = s.connect().expect("connect");
    assert_eq!(c.cmd_str("CLIENT TRACKING on").expect("on"), simple("OK"));
    w.cmd_str("SET a 1").expect("set");
    assert_eq!(c.cmd_str("GET a").expect("get"), bulk("1"));
    w.cmd_str("SET a 2").expect("set");
    // The key is forgotten after one invalidation: the second write sends nothing, so the
    // next frame is the PING reply.
    w.cmd_str("SET a 3").expect("set");
    assert_eq!(c.read_frame().expect("push"), invalidate(&["a"]));
    assert_eq!(c.cmd_str("PING").expect("ping"), simple("PONG"));
    // A write by the client itself: the invalidation follows the command's reply.
    c.cmd_str("GET a").expect("get");
    assert_eq!(c.cmd_str("DEL a").expect("del"), Frame::Integer(1));
    assert_eq!(c.read_frame().expect("push"), invalidate(&["a"]));
    // FLUSHALL invalidates everything with a null.
    w.cmd_str("FLUSHALL").expect("flushall");
    assert_eq!(
        c.read_frame().expect("push"),
        Frame::Push(vec![bulk("invalidate"), Frame::Null])
    );
}

#[test]
fn redirect_to_a_resp2_subscriber_and_bcast_with_noloop() {
    let s = server();
    let mut red = s.connect().expect("connect");
    let Frame::Integer(red_id) = red.cmd_str("CLIENT ID").expect("id") else {
        panic!("no id")
    };
    red.cmd_str("SUBSCRIBE __redis__:invalidate")
        .expect("subscribe");
    let mut c = s.connect().expect("connect");
    let mut w = s.connect().expect("connect");
    assert_eq!(
        c.cmd_str(&format!("CLIENT TRACKING on REDIRECT {red_id}"))
            .expect("on"),
        simple("OK")
    );
    assert_eq!(
        c.cmd_str("CLIENT GETREDIR").expect("getredir"),
        Frame::Integer(red_id)
    );
    c.cmd_str("MGET k1 k2").expect("mget");
    w.cmd_str("MSET k1 1 k2 2").expect("mset");
    for key in ["k1", "k2"] {
        assert_eq!(
            red.read_frame().expect("message"),
            Frame::Array(vec![
                bulk("message"),
                bulk("__redis__:invalidate"),
                Frame::Array(vec![bulk(key)])
            ])
        );
    }
    // BCAST: every key under the prefixes, one message per command; NOLOOP leaves out the
    // client's own writes.
    assert_eq!(
        c.cmd_str("CLIENT TRACKING on BCAST PREFIX x").expect("switch"),
        err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
    );
    c.cmd_str("CLIENT TRACKING off").expect("off");
    assert_eq!(
        c.cmd(&[
            b"CLIENT",
            b"TRACKING",
            b"on",
            b"BCAST",
            b"NOLOOP",
            b"REDIRECT",
            red_id.to_string().as_bytes(),
            b"PREFIX",
            b"user:",
            b"PREFIX",
            b"obj:"
        ])
        .expect("bcast"),
        simple("OK")
    );
    c.cmd_str("SET user:self 1").expect("own write");
    w.cmd_str("MSET user:1 a user:2 b other c").expect("mset");
    let Frame::Array(msg) = red.read_frame().expect("bcast message") else {
        panic!("not a message")
    };
    assert_eq!(msg[2], Frame::Array(vec![bulk("user:1"), bulk("user:2")]));
    // The redirection target goes away: the next invalidation marks the redirection broken.
    let mut admin = s.connect().expect("connect");
    admin
        .cmd_str(&format!("CLIENT KILL ID {red_id}"))
        .expect("kill");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let Frame::Bulk(list) = admin.cmd_str("CLIENT LIST").expect("list") else {
            panic!("no list")
        };
        if !String::from_utf8_lossy(&list).contains(&format!("id={red_id} ")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "target never went away"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    w.cmd_str("SET user:3 c").expect("set");
    assert_eq!(
        c.cmd_str("CLIENT TRACKINGINFO").expect("trackinginfo"),
        Frame::Array(vec![
            bulk("flags"),
            Frame::Array(vec![
                bulk("on"),
                bulk("bcast"),
                bulk("noloop"),
                bulk("broken_redirect")
            ]),
            bulk("redirect"),
            Frame::Integer(red_id),
            bulk("prefixes"),
            Frame::Array(vec![bulk("obj:"), bulk("user:")]),
        ])
    );
}

#[test]
fn trackinginfo_optin_caching_and_errors() {
    let s = server();
    let mut c = resp3(&s);
    let mut w = s.connect().expect("connect");
    assert_eq!(
        c.cmd_str("CLIENT CACHING yes").expect("caching"),
        err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
    );
    assert_eq!(
        c.cmd_str("CLIENT TRACKING on PREFIX a").expect("prefix"),
        err("ERR PREFIX option requires BCAST mode to be enabled")
    );
    assert_eq!(
        c.cmd_str("CLIENT TRACKING on OPTIN OPTOUT").expect("both"),
        err("ERR You can't specify both OPTIN mode and OPTOUT mode")
    );
    assert_eq!(
        c.cmd_str("CLIENT TRACKING on REDIRECT 999999")
            .expect("redirect"),
        err("ERR The client ID you want redirect to does not exist")
    );
    assert_eq!(
        c.cmd_str("CLIENT TRACKING on BCAST PREFIX ab PREFIX a").expect("overlap"),
        err("ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.")
    );
    assert_eq!(
        c.cmd_str("CLIENT TRACKING on OPTIN").expect("on"),
        simple("OK")
    );
    // Not cached without CLIENT CACHING yes...
    c.cmd_str("GET plain").expect("get");
    // ...cached with it, for the next command only.
    assert_eq!(
        c.cmd_str("CLIENT CACHING yes").expect("caching"),
        simple("OK")
    );
    let Frame::Map(info) = c.cmd_str("CLIENT TRACKINGINFO").expect("info") else {
        panic!("not a map")
    };
    assert_eq!(
        info[0],
        (
            bulk("flags"),
            Frame::Set(vec![bulk("on"), bulk("optin"), bulk("caching-yes")])
        )
    );
    assert_eq!(info[1], (bulk("redirect"), Frame::Integer(0)));
    c.cmd_str("CLIENT CACHING yes").expect("caching");
    c.cmd_str("GET cached").expect("get");
    w.cmd_str("SET plain 1").expect("set");
    w.cmd_str("SET cached 1").expect("set");
    assert_eq!(c.read_frame().expect("push"), invalidate(&["cached"]));
    assert_eq!(
        c.cmd_str("CLIENT GETREDIR").expect("getredir"),
        Frame::Integer(0)
    );
    c.cmd_str("CLIENT TRACKING off").expect("off");
    assert_eq!(
        c.cmd_str("CLIENT GETREDIR").expect("getredir"),
        Frame::Integer(-1)
    );
}

/// A script that runs a read-only command makes its caller track the keys the script
/// declared (not the ones it touched); one that only writes, or an *_RO script that only
/// pings, tracks nothing. A script's own write with NOLOOP sends its caller nothing.
#[test]
fn scripts_track_their_declared_keys_when_they_read() {
    let s = server();
    let mut c = resp3(&s);
    let mut w = s.connect().expect("connect");
    assert_eq!(c.cmd_str("CLIENT TRACKING on").expect("on"), simple("OK"));
    let eval = |c: &mut RespConn, cmd: &str, body: &str| {
        c.cmd(&[cmd.as_bytes(), body.as_bytes(), b"2", b"k1", b"k2"])
            .expect("eval")
    };
    eval(&mut c, "EVAL", "redis.call('set', 'other', 'x')");
    eval(&mut c, "EVAL_RO", "redis.call('ping')");
    w.cmd_str("MSET k1 1 k2 1").expect("mset");
    // Nothing was tracked: the next frame is the PING reply.
    assert_eq!(c.cmd_str("PING").expect("ping"), simple("PONG"));
    eval(&mut c, "EVAL", "redis.call('get', 'unrelated')");
    w.cmd_str("MSET k2 2 k1 2").expect("mset");
    assert_eq!(c.read_frame().expect("push"), invalidate(&["k2"]));
    assert_eq!(c.read_frame().expect("push"), invalidate(&["k1"]));
    eval(&mut c, "EVAL_RO", "return redis.call('get', 'k1')");
    w.cmd_str("SET k1 3").expect("set");
    assert_eq!(c.read_frame().expect("push"), invalidate(&["k1"]));
    assert_eq!(c.cmd_str("PING").expect("ping"), simple("PONG"));

    // NOLOOP: the caller's own script write is not sent back to it.
    assert_eq!(c.cmd_str("CLIENT TRACKING off").expect("off"), simple("OK"));
    assert_eq!(
        c.cmd_str("CLIENT TRACKING on NOLOOP").expect("on"),
        simple("OK")
    );
    c.cmd_str("SET k3 1").expect("set");
    assert_eq!(c.cmd_str("GET k3").expect("get"), bulk("1"));
    c.cmd(&[
        &b"EVAL"[..],
        b"return redis.call('set', KEYS[1], '2')",
        b"1",
        b"k3",
    ])
    .expect("eval");
    assert_eq!(c.cmd_str("GET k3").expect("get"), bulk("2"));
}
