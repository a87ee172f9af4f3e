//! Pub/Sub over real sockets: SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE and their UNSUBSCRIBE
//! replies in RESP2 and RESP3 (push frames), PUBLISH receiver counts, the RESP2
//! subscriber-mode restrictions, PUBSUB introspection, RESET/disconnection cleanup,
//! CLIENT LIST and INFO fields, a slow subscriber closed by the `pubsub` output-buffer
//! limit, delivery across connection threads, and keyspace notifications.

use ferrodis_resp::Frame;
use ferrodis_server::Server;
use ferrodis_tests::{bulk, simple, InProcess, RespConn};
use std::time::{Duration, Instant};

fn server() -> InProcess {
    InProcess::start().expect("start ferrodis")
}

fn arr(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

/// `[kind, name, count]` as RESP2 delivers (un)subscribe confirmations.
fn confirm(kind: &str, name: &str, count: i64) -> Frame {
    arr(vec![bulk(kind), bulk(name), Frame::Integer(count)])
}

fn message(chan: &str, payload: &str) -> Frame {
    arr(vec![bulk("message"), bulk(chan), bulk(payload)])
}

fn pmessage(pat: &str, chan: &str, payload: &str) -> Frame {
    arr(vec![bulk("pmessage"), bulk(pat), bulk(chan), bulk(payload)])
}

fn int(c: &mut RespConn, line: &str) -> i64 {
    match c.cmd_str(line).expect("reply") {
        Frame::Integer(i) => i,
        other => panic!("{line}: expected an integer, got {other:?}"),
    }
}

fn text(f: Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(&b).into_owned(),
        Frame::Verbatim { data, .. } => String::from_utf8_lossy(&data).into_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

fn info_field(c: &mut RespConn, field: &str) -> i64 {
    let info = text(c.cmd_str("INFO stats").expect("INFO"));
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO"))
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn resp2_subscribe_publish_and_unsubscribe() {
    let s = server();
    let mut sub = s.connect().expect("connect");
    let mut publ = s.connect().expect("connect");
    sub.cmd_str("SUBSCRIBE chan1 chan2 chan1")
        .expect("subscribe");
    assert_eq!(
        sub.read_frames(2).expect("confirmations"),
        vec![
            confirm("subscribe", "chan2", 2),
            confirm("subscribe", "chan1", 2)
        ]
    );
    assert_eq!(int(&mut publ, "PUBLISH chan1 hello"), 1);
    assert_eq!(int(&mut publ, "PUBLISH chan2 world"), 1);
    assert_eq!(int(&mut publ, "PUBLISH other x"), 0);
    assert_eq!(sub.read_frame().expect("msg"), message("chan1", "hello"));
    assert_eq!(sub.read_frame().expect("msg"), message("chan2", "world"));

    assert_eq!(
        sub.cmd_str("UNSUBSCRIBE chan1 nothere")
            .expect("unsubscribe"),
        confirm("unsubscribe", "chan1", 1)
    );
    assert_eq!(
        sub.read_frame().expect("second confirmation"),
        confirm("unsubscribe", "nothere", 1)
    );
    assert_eq!(int(&mut publ, "PUBLISH chan1 x"), 0);
    // Unsubscribe from everything: one confirmation per channel, then none is left.
    assert_eq!(
        sub.cmd_str("UNSUBSCRIBE").expect("unsubscribe all"),
        confirm("unsubscribe", "chan2", 0)
    );
    // Nothing left to unsubscribe from: still one reply, with a null channel.
    assert_eq!(
        sub.cmd_str("UNSUBSCRIBE").expect("unsubscribe none"),
        arr(vec![
            bulk("unsubscribe"),
            Frame::NullBulk,
            Frame::Integer(0)
        ])
    );
    assert_eq!(
        sub.cmd_str("PUNSUBSCRIBE").expect("punsubscribe none"),
        arr(vec![
            bulk("punsubscribe"),
            Frame::NullBulk,
            Frame::Integer(0)
        ])
    );
    // Out of subscribed mode: normal commands and PING work again.
    assert_eq!(sub.cmd_str("PING").expect("ping"), simple("PONG"));
    assert_eq!(int(&mut publ, "PUBLISH chan2 x"), 0);
}

#[test]
fn patterns_count_each_match_and_use_redis_glob() {
    let s = server();
    let mut sub = s.connect().expect("connect");
    let mut publ = s.connect().expect("connect");
    sub.cmd_str("SUBSCRIBE foo.bar").expect("subscribe");
    sub.send(&[b"PSUBSCRIBE", b"foo.*", b"f[o]o.b?r", b"x\\*"])
        .expect("send");
    assert_eq!(
        sub.read_frames(3).expect("confirmations"),
        vec![
            confirm("psubscribe", "foo.*", 2),
            confirm("psubscribe", "f[o]o.b?r", 3),
            confirm("psubscribe", "x\\*", 4),
        ]
    );
    // One channel subscription plus two matching patterns: three receivers.
    assert_eq!(int(&mut publ, "PUBLISH foo.bar hi"), 3);
    assert_eq!(sub.read_frame().expect("msg"), message("foo.bar", "hi"));
    let mut pm = sub.read_frames(2).expect("pmessages");
    pm.sort_by_key(|f| format!("{f:?}"));
    let mut want = vec![
        pmessage("foo.*", "foo.bar", "hi"),
        pmessage("f[o]o.b?r", "foo.bar", "hi"),
    ];
    want.sort_by_key(|f| format!("{f:?}"));
    assert_eq!(pm, want);
    assert_eq!(int(&mut publ, "PUBLISH x* lit"), 1);
    assert_eq!(int(&mut publ, "PUBLISH xy lit"), 0);
    assert_eq!(int(&mut publ, "PUBLISH foo1 none"), 0);
    assert_eq!(int(&mut publ, "PUBSUB NUMPAT"), 3);
    assert_eq!(
        sub.read_frame().expect("literal star"),
        pmessage("x\\*", "x*", "lit")
    );
    assert_eq!(
        sub.cmd_str("PUNSUBSCRIBE foo.*").expect("punsubscribe"),
        confirm("punsubscribe", "foo.*", 3)
    );
    assert_eq!(int(&mut publ, "PUBLISH foo.bar again"), 2);
}

#[test]
fn resp2_subscriber_mode_allows_only_pubsub_commands() {
    let s = server();
    let mut c = s.connect().expect("connect");
    c.cmd_str("SUBSCRIBE ch").expect("subscribe");
    assert_eq!(
        c.cmd_str("PING").expect("ping"),
        arr(vec![bulk("pong"), bulk("")])
    );
    assert_eq!(
        c.cmd_str("PING hi").expect("ping"),
        arr(vec![bulk("pong"), bulk("hi")])
    );
    for (line, name) in [("GET k", "get"), ("CLIENT LIST", "client|list")] {
        assert_eq!(
            c.cmd_str(line).expect("refused"),
            Frame::Error(
                format!(
                    "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
                )
                .into()
            )
        );
    }
    // RESET leaves subscribed mode and drops the subscription.
    assert_eq!(c.cmd_str("RESET").expect("reset"), simple("RESET"));
    assert_eq!(c.cmd_str("GET k").expect("get"), Frame::NullBulk);
    let mut other = s.connect().expect("connect");
    assert_eq!(int(&mut other, "PUBLISH ch x"), 0);
    assert_eq!(
        other.cmd_str("PUBSUB NUMSUB ch").expect("numsub"),
        arr(vec![bulk("ch"), Frame::Integer(0)])
    );
}

#[test]
fn resp3_messages_are_push_frames_and_commands_stay_allowed() {
    let s = server();
    let mut c = s.connect().expect("connect");
    c.cmd_str("HELLO 3").expect("hello");
    assert_eq!(
        c.cmd_str("SUBSCRIBE ch").expect("subscribe"),
        Frame::Push(vec![bulk("subscribe"), bulk("ch"), Frame::Integer(1)])
    );
    assert_eq!(c.cmd_str("SET k v").expect("set"), simple("OK"));
    assert_eq!(c.cmd_str("PING").expect("ping"), simple("PONG"));
    // Publishing to itself: the message comes before PUBLISH's reply.
    assert_eq!(
        c.cmd_str("PUBLISH ch me").expect("push"),
        Frame::Push(vec![bulk("message"), bulk("ch"), bulk("me")])
    );
    assert_eq!(c.read_frame().expect("publish reply"), Frame::Integer(1));
    // CLIENT REPLY OFF silences replies, not pushes.
    c.send(&[b"CLIENT", b"REPLY", b"OFF"]).expect("send");
    c.send(&[b"PUBLISH", b"ch", b"quiet"]).expect("send");
    c.send(&[b"CLIENT", b"REPLY", b"ON"]).expect("send");
    assert_eq!(
        c.read_frame().expect("push"),
        Frame::Push(vec![bulk("message"), bulk("ch"), bulk("quiet")])
    );
    assert_eq!(c.read_frame().expect("reply on"), simple("OK"));
    assert_eq!(
        c.cmd_str("UNSUBSCRIBE").expect("unsubscribe"),
        Frame::Push(vec![bulk("unsubscribe"), bulk("ch"), Frame::Integer(0)])
    );
    assert_eq!(
        c.cmd_str("UNSUBSCRIBE").expect("unsubscribe none"),
        Frame::Push(vec![bulk("unsubscribe"), Frame::Null, Frame::Integer(0)])
    );
}

#[test]
fn sharded_channels_are_separate_from_global_ones() {
    let s = server();
    let mut ssub = s.connect().expect("connect");
    let mut sub = s.connect().expect("connect");
    let mut c = s.connect().expect("connect");
    assert_eq!(
        ssub.cmd_str("SSUBSCRIBE chan1").expect("ssubscribe"),
        confirm("ssubscribe", "chan1", 1)
    );
    assert_eq!(
        sub.cmd_str("SUBSCRIBE chan1").expect("subscribe"),
        confirm("subscribe", "chan1", 1)
    );
    // Shard subscriptions are counted apart from channels and patterns.
    ssub.cmd_str("PSUBSCRIBE p*").expect("psubscribe");
    assert_eq!(
        ssub.cmd_str("SSUBSCRIBE chan2").expect("ssubscribe"),
        confirm("ssubscribe", "chan2", 2)
    );
    assert_eq!(int(&mut c, "SPUBLISH chan1 s"), 1);
    assert_eq!(
        ssub.read_frame().expect("smessage"),
        arr(vec![bulk("smessage"), bulk("chan1"), bulk("s")])
    );
    assert_eq!(int(&mut c, "PUBLISH chan1 g"), 1);
    assert_eq!(sub.read_frame().expect("message"), message("chan1", "g"));
    assert_eq!(
        c.cmd_str("PUBSUB SHARDNUMSUB chan1 chan2 none")
            .expect("shardnumsub"),
        arr(vec![
            bulk("chan1"),
            Frame::Integer(1),
            bulk("chan2"),
            Frame::Integer(1),
            bulk("none"),
            Frame::Integer(0)
        ])
    );
    let Frame::Array(mut chans) = c.cmd_str("PUBSUB SHARDCHANNELS").expect("shardchannels") else {
        panic!("not an array")
    };
    chans.sort_by_key(|f| format!("{f:?}"));
    assert_eq!(chans, vec![bulk("chan1"), bulk("chan2")]);
    assert_eq!(
        c.cmd_str("PUBSUB SHARDCHANNELS *2").expect("shardchannels"),
        arr(vec![bulk("chan2")])
    );
    assert_eq!(
        c.cmd_str("PUBSUB CHANNELS").expect("channels"),
        arr(vec![bulk("chan1")])
    );
    assert_eq!(info_field(&mut c, "pubsub_channels"), 1);
    assert_eq!(info_field(&mut c, "pubsub_patterns"), 1);
    assert_eq!(info_field(&mut c, "pubsubshard_channels"), 2);
    ssub.send(&[b"SUNSUBSCRIBE"]).expect("send");
    // Unordered, as Redis walks a dict; the counts go down one by one.
    let got = ssub.read_frames(2).expect("sunsubscribe replies");
    let mut names: Vec<String> = got
        .iter()
        .map(|f| match f {
            Frame::Array(v) if v.len() == 3 => {
                assert_eq!(v[0], bulk("sunsubscribe"));
                text(v[1].clone())
            }
            other => panic!("not a confirmation: {other:?}"),
        })
        .collect();
    names.sort();
    assert_eq!(names, vec!["chan1", "chan2"]);
    let counts: Vec<Frame> = got
        .iter()
        .filter_map(|f| match f {
            Frame::Array(v) => v.get(2).cloned(),
            _ => None,
        })
        .collect();
    assert_eq!(counts, vec![Frame::Integer(1), Frame::Integer(0)]);
    assert_eq!(int(&mut c, "SPUBLISH chan1 s"), 0);
    assert_eq!(
        c.cmd_str("PUBSUB FOO").expect("error"),
        Frame::Error(
            "ERR unknown subcommand 'FOO'. Try PUBSUB HELP."
                .as_bytes()
                .to_vec()
                .into()
        )
    );
    assert_eq!(
        c.cmd_str("PUBSUB CHANNELS a b").expect("error"),
        Frame::Error(
            "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
                .as_bytes()
                .to_vec()
                .into()
        )
    );
}

#[test]
fn client_list_shows_subscriptions_and_disconnect_cleans_up() {
    let s = server();
    let mut c = s.connect().expect("connect");
    {
        let mut sub = s.connect().expect("connect");
        sub.cmd_str("CLIENT SETNAME subber").expect("setname");
        sub.cmd_str("SUBSCRIBE a").expect("subscribe");
        sub.cmd_str("PSUBSCRIBE b* c*").expect("psubscribe");
        sub.read_frame().expect("second psubscribe confirmation");
        sub.cmd_str("SSUBSCRIBE d").expect("ssubscribe");
        let list = text(c.cmd_str("CLIENT LIST TYPE pubsub").expect("client list"));
        let line = list
            .lines()
            .find(|l| l.contains("name=subber"))
            .expect("subscriber listed as pubsub");
        for field in ["flags=P ", "sub=1 ", "psub=2 ", "ssub=1 "] {
            assert!(line.contains(field), "{field} missing in {line}");
        }
    }
    wait_until("the subscriber's disconnection", || {
        c.cmd_str("PUBSUB NUMSUB a").expect("numsub") == arr(vec![bulk("a"), Frame::Integer(0)])
    });
    assert_eq!(int(&mut c, "PUBSUB NUMPAT"), 0);
    assert_eq!(
        c.cmd_str("PUBSUB SHARDCHANNELS").expect("shardchannels"),
        arr(vec![])
    );
}

#[test]
fn slow_subscriber_is_closed_by_the_pubsub_output_limit() {
    let s = server();
    let mut c = s.connect().expect("connect");
    c.cmd_str("CONFIG SET client-output-buffer-limit pubsub 100000 0 0")
        .expect("config set");
    // The subscriber never reads: once the socket buffers are full, its queue grows
    // until the hard limit closes it.
    let mut sub = s.connect().expect("connect");
    sub.send(&[b"SUBSCRIBE", b"flood"]).expect("send");
    wait_until("the subscription", || {
        c.cmd_str("PUBSUB NUMSUB flood").expect("numsub")
            == arr(vec![bulk("flood"), Frame::Integer(1)])
    });
    let payload = vec![b'x'; 64 * 1024];
    let mut closed = false;
    for _ in 0..4000 {
        c.send(&[b"PUBLISH", b"flood", &payload]).expect("send");
        if c.read_frame().expect("publish") == Frame::Integer(0) {
            closed = true;
            break;
        }
    }
    assert!(closed, "the slow subscriber was never disconnected");
    assert_eq!(
        c.cmd_str("PUBSUB NUMSUB flood").expect("numsub"),
        arr(vec![bulk("flood"), Frame::Integer(0)])
    );
    // Its connection was closed by the server: reading ends in EOF after what was sent.
    let mut eof = false;
    for _ in 0..100_000 {
        match sub.read_frame_or_eof() {
            Ok(Some(_)) => {}
            Ok(None) => {
                eof = true;
                break;
            }
            Err(e) => panic!("read: {e:?}"),
        }
    }
    assert!(eof);
    assert_eq!(c.cmd_str("PING").expect("ping"), simple("PONG"));
}

#[test]
fn publish_reaches_subscribers_on_every_connection_thread() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt
        .block_on(async {
            Server::builder()
                .set("bind", "127.0.0.1")
                .and_then(|b| b.set("port", "0"))
                .expect("options")
                .io_threads(3)
                .start()
                .await
        })
        .expect("start");
    let addr = server.local_addr().expect("addr");
    let mut subs: Vec<RespConn> = (0..6)
        .map(|_| RespConn::connect(addr).expect("connect"))
        .collect();
    for (i, s) in subs.iter_mut().enumerate() {
        let resp3 = i % 2 == 1;
        if resp3 {
            s.cmd_str("HELLO 3").expect("hello");
        }
        s.cmd_str("PSUBSCRIBE news.*").expect("psubscribe");
    }
    let mut publ = RespConn::connect(addr).expect("connect");
    assert_eq!(int(&mut publ, "PUBLISH news.today hello"), 6);
    for (i, s) in subs.iter_mut().enumerate() {
        let items = vec![
            bulk("pmessage"),
            bulk("news.*"),
            bulk("news.today"),
            bulk("hello"),
        ];
        let want = if i % 2 == 1 {
            Frame::Push(items)
        } else {
            Frame::Array(items)
        };
        assert_eq!(s.read_frame().expect("message"), want);
    }
    rt.block_on(server.shutdown());
}

/// Subscribes to every keyspace and keyevent channel of db 0.
fn event_subscriber(s: &InProcess, flags: &str) -> (RespConn, RespConn) {
    let mut c = s.connect().expect("connect");
    c.cmd(&[
        b"CONFIG",
        b"SET",
        b"notify-keyspace-events",
        flags.as_bytes(),
    ])
    .expect("config set");
    let mut sub = s.connect().expect("connect");
    sub.cmd_str("PSUBSCRIBE __key*@0__:*").expect("psubscribe");
    (c, sub)
}

/// The next `n` events as `channel payload` strings.
fn events(sub: &mut RespConn, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| match sub.read_frame().expect("event") {
            Frame::Array(v) if v.len() == 4 => {
                format!("{} {}", text(v[2].clone()), text(v[3].clone()))
            }
            other => panic!("not a pmessage: {other:?}"),
        })
        .collect()
}

#[test]
fn keyspace_and_keyevent_notifications() {
    let s = server();
    let (mut c, mut sub) = event_subscriber(&s, "KEA");
    assert_eq!(
        text(
            c.cmd_str("CONFIG GET notify-keyspace-events")
                .map(|f| match f {
                    Frame::Array(v) => v[1].clone(),
                    other => other,
                })
                .expect("config get")
        ),
        "AKE"
    );
    c.cmd_str("SET foo bar").expect("set");
    c.cmd_str("LPUSH l a").expect("lpush");
    c.cmd_str("HSET h f v").expect("hset");
    c.cmd_str("EXPIRE foo 100").expect("expire");
    c.cmd_str("RENAME foo foo2").expect("rename");
    c.cmd_str("DEL foo2 l").expect("del");
    assert_eq!(
        events(&mut sub, 16),
        vec![
            "__keyspace@0__:foo set",
            "__keyevent@0__:set foo",
            "__keyspace@0__:l lpush",
            "__keyevent@0__:lpush l",
            "__keyspace@0__:h hset",
            "__keyevent@0__:hset h",
            "__keyspace@0__:foo expire",
            "__keyevent@0__:expire foo",
            "__keyspace@0__:foo rename_from",
            "__keyevent@0__:rename_from foo",
            "__keyspace@0__:foo2 rename_to",
            "__keyevent@0__:rename_to foo2",
            "__keyspace@0__:foo2 del",
            "__keyevent@0__:del foo2",
            "__keyspace@0__:l del",
            "__keyevent@0__:del l",
        ]
    );
}

#[test]
fn keyspace_event_classes_new_keymiss_and_expired() {
    let s = server();
    // Only key events, only for new keys, key misses and expirations.
    let (mut c, mut sub) = event_subscriber(&s, "Enmx");
    c.cmd_str("SET a 1").expect("set");
    c.cmd_str("SET a 2").expect("set again: no new event");
    c.cmd_str("GET missing").expect("get");
    c.cmd_str("SET b 1 PX 30").expect("set px");
    // Active expiry deletes it without any command touching it.
    assert_eq!(
        events(&mut sub, 4),
        vec![
            "__keyevent@0__:new a",
            "__keyevent@0__:keymiss missing",
            "__keyevent@0__:new b",
            "__keyevent@0__:expired b",
        ]
    );
    // Expired by the lookup or by the active cycle just before it: the same events.
    c.cmd_str("SET e 1 PX 1").expect("set px");
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(c.cmd_str("GET e").expect("get"), Frame::NullBulk);
    assert_eq!(
        events(&mut sub, 3),
        vec![
            "__keyevent@0__:new e",
            "__keyevent@0__:expired e",
            "__keyevent@0__:keymiss e",
        ]
    );
    // Disabled classes publish nothing: a marker published afterwards comes next.
    c.cmd(&[b"CONFIG", b"SET", b"notify-keyspace-events", b""])
        .expect("config set");
    c.cmd_str("SET z 1").expect("set");
    assert_eq!(int(&mut c, "PUBLISH __keyevent@0__:marker m"), 1);
    assert_eq!(events(&mut sub, 1), vec!["__keyevent@0__:marker m"]);
}

/// A subscriber that does not read, with messages pending but under its limits, stays
/// connected while idle (the cron's idle-client housekeeping once closed it).
#[test]
fn idle_subscriber_with_pending_messages_stays_connected() {
    let s = server();
    let mut c = s.connect().expect("connect");
    let mut sub = s.connect().expect("connect");
    sub.send(&[b"SUBSCRIBE", b"slow"]).expect("send");
    wait_until("the subscription", || {
        c.cmd_str("PUBSUB NUMSUB slow").expect("numsub")
            == arr(vec![bulk("slow"), Frame::Integer(1)])
    });
    // About 4 MB: more than the socket buffers take, less than the 8 MB soft limit.
    let payload = vec![b'x'; 64 * 1024];
    for _ in 0..64 {
        c.send(&[b"PUBLISH", b"slow", &payload]).expect("send");
        assert_eq!(c.read_frame().expect("publish"), Frame::Integer(1));
    }
    // Idle clients are looked at every second once idle for 2 s.
    std::thread::sleep(std::time::Duration::from_millis(3500));
    assert_eq!(
        c.cmd_str("PUBSUB NUMSUB slow").expect("numsub"),
        arr(vec![bulk("slow"), Frame::Integer(1)])
    );
    drop(sub);
}
