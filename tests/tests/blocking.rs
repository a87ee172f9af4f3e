//! Blocking commands over real sockets: a blocked client is served by the write that makes its
//! key ready, in FIFO order, from the key that became ready; timeouts, CLIENT UNBLOCK and
//! disconnection end the wait; BLMOVE works across shards; a pipelined pusher's next command
//! sees the list after the blocked client took its element (Redis's order).

use ferrodis_resp::Frame;
use ferrodis_tests::{bulk, simple, InProcess, RespConn};
use std::time::{Duration, Instant};

fn arr(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(bulk).collect())
}

fn info_field(c: &mut RespConn, section: &str, field: &str) -> i64 {
    let Ok(Frame::Bulk(text)) = c.cmd(&[b"INFO", section.as_bytes()]) else {
        panic!("INFO {section} failed");
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
}

/// Waits until the server reports `n` blocked clients (as the Tcl suite's wait_for_blocked_client).
fn wait_blocked(c: &mut RespConn, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(c, "clients", "blocked_clients") != n {
        assert!(
            Instant::now() < deadline,
            "never reached {n} blocked clients"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn server() -> InProcess {
    InProcess::start().expect("start ferrodis")
}

#[test]
fn blpop_is_served_by_a_later_push_and_the_list_is_deleted() {
    let s = server();
    let mut w = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    b.send(&[b"BLPOP", b"list", b"0"]).unwrap();
    wait_blocked(&mut w, 1);
    assert_eq!(w.cmd_str("RPUSH list x").unwrap(), Frame::Integer(1));
    assert_eq!(b.read_frame().unwrap(), arr(&["list", "x"]));
    assert_eq!(w.cmd_str("EXISTS list").unwrap(), Frame::Integer(0));
    wait_blocked(&mut w, 0);
    // The served client carries on with its next command.
    assert_eq!(b.cmd_str("PING").unwrap(), simple("PONG"));
}

#[test]
fn waiters_are_served_first_come_first_served() {
    let s = server();
    let mut w = s.connect().unwrap();
    let mut first = s.connect().unwrap();
    let mut second = s.connect().unwrap();
    first.send(&[b"BRPOP", b"q", b"0"]).unwrap();
    wait_blocked(&mut w, 1);
    second.send(&[b"BRPOP", b"q", b"0"]).unwrap();
    wait_blocked(&mut w, 2);
    w.cmd_str("LPUSH q one").unwrap();
    assert_eq!(first.read_frame().unwrap(), arr(&["q", "one"]));
    wait_blocked(&mut w, 1);
    w.cmd_str("LPUSH q two").unwrap();
    assert_eq!(second.read_frame().unwrap(), arr(&["q", "two"]));
}

#[test]
fn variadic_push_serves_one_element_and_keeps_the_rest() {
    let s = server();
    let mut w = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    b.send(&[b"BLPOP", b"blist", b"0"]).unwrap();
    wait_blocked(&mut w, 1);
    w.cmd_str("LPUSH blist foo bar").unwrap();
    assert_eq!(b.read_frame().unwrap(), arr(&["blist", "bar"]));
    assert_eq!(w.cmd_str("LRANGE blist 0 -1").unwrap(), arr(&["foo"]));
}

#[test]
fn served_from_the_key_that_became_ready() {
    let s = server();
    let mut w = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    b.send(&[b"BLPOP", b"k1", b"k2", b"k3", b"0"]).unwrap();
    wait_blocked(&mut w, 1);
    w.cmd_str("RPUSH k3 c").unwrap();
    assert_eq!(b.read_frame().unwrap(), arr(&["k3", "c"]));
}

#[test]
fn pusher_pipeline_sees_the_list_after_the_blocked_client_took_its_element() {
    let s = server();
    let mut w = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    b.send(&[b"BLPOP", b"p", b"0"]).unwrap();
    wait_blocked(&mut w, 1);
    let mut pipe = ferrodis_tests::encode_command(&[b"RPUSH", b"p", b"v"]);
    pipe.extend(ferrodis_tests::encode_command(&[b"LPOP", b"p"]));
    w.send_raw(&pipe).unwrap();
    assert_eq!(w.read_frame().unwrap(), Frame::Integer(1));
    assert_eq!(w.read_frame().unwrap(), Frame::NullBulk);
    assert_eq!(b.read_frame().unwrap(), arr(&["p", "v"]));
}

#[test]
fn timeouts_answer_null_and_decimals_are_honoured() {
    let s = server();
    let mut b = s.connect().unwrap();
    let start = Instant::now();
    assert_eq!(b.cmd_str("BLPOP nothing 0.2").unwrap(), Frame::NullArray);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(190),
        "returned after {took:?}"
    );
    assert!(took < Duration::from_secs(5), "returned after {took:?}");
    assert_eq!(
        b.cmd_str("BLMOVE a b LEFT RIGHT 0.05").unwrap(),
        Frame::NullBulk
    );
    assert_eq!(
        b.cmd_str("BLPOP nothing -1").unwrap(),
        Frame::Error("ERR timeout is negative".into())
    );
    assert_eq!(
        b.cmd_str("BLPOP nothing abc").unwrap(),
        Frame::Error("ERR timeout is not a float or out of range".into())
    );
}

#[test]
fn blmove_across_shards_moves_the_element() {
    // The default of 16 shards puts "src" and "dst" (different slots) in different shards.
    let s = server();
    let mut w = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    b.send(&[b"BLMOVE", b"src", b"dst", b"RIGHT", b"LEFT", b"0"])
        .unwrap();
    wait_blocked(&mut w, 1);
    w.cmd_str("RPUSH src a b").unwrap();
    assert_eq!(b.read_frame().unwrap(), bulk("b"));
    assert_eq!(w.cmd_str("LRANGE src 0 -1").unwrap(), arr(&["a"]));
    assert_eq!(w.cmd_str("LRANGE dst 0 -1").unwrap(), arr(&["b"]));
}

#[test]
fn blmove_chain_serves_the_next_client_from_the_destination() {
    let s = server();
    let mut w = s.connect().unwrap();
    let mut mover = s.connect().unwrap();
    let mut popper = s.connect().unwrap();
    mover
        .send(&[b"BLMOVE", b"c1", b"c2", b"LEFT", b"LEFT", b"0"])
        .unwrap();
    wait_blocked(&mut w, 1);
    popper.send(&[b"BLPOP", b"c2", b"0"]).unwrap();
    wait_blocked(&mut w, 2);
    w.cmd_str("RPUSH c1 z").unwrap();
    assert_eq!(mover.read_frame().unwrap(), bulk("z"));
    assert_eq!(popper.read_frame().unwrap(), arr(&["c2", "z"]));
    assert_eq!(w.cmd_str("EXISTS c1 c2").unwrap(), Frame::Integer(0));
}

#[test]
fn client_unblock_timeout_and_error() {
    let s = server();
    let mut w = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    let Frame::Integer(id) = b.cmd_str("CLIENT ID").unwrap() else {
        panic!("CLIENT ID");
    };
    let id = id.to_string();
    assert_eq!(
        w.cmd(&[b"CLIENT", b"UNBLOCK", id.as_bytes()]).unwrap(),
        Frame::Integer(0)
    );
    b.send(&[b"BLPOP", b"u", b"0"]).unwrap();
    wait_blocked(&mut w, 1);
    assert_eq!(
        w.cmd(&[b"CLIENT", b"UNBLOCK", id.as_bytes()]).unwrap(),
        Frame::Integer(1)
    );
    assert_eq!(b.read_frame().unwrap(), Frame::NullArray);
    b.send(&[b"BLPOP", b"u", b"0"]).unwrap();
    wait_blocked(&mut w, 1);
    assert_eq!(
        w.cmd(&[b"CLIENT", b"UNBLOCK", id.as_bytes(), b"ERROR"])
            .unwrap(),
        Frame::Integer(1)
    );
    assert_eq!(
        b.read_frame().unwrap(),
        Frame::Error("UNBLOCKED client unblocked via CLIENT UNBLOCK".into())
    );
    // Nobody is left queued on the key: a push stays in the list.
    w.cmd_str("RPUSH u kept").unwrap();
    assert_eq!(w.cmd_str("LLEN u").unwrap(), Frame::Integer(1));
}

#[test]
fn a_disconnected_blocked_client_leaves_its_queues() {
    let s = server();
    let mut w = s.connect().unwrap();
    {
        let mut b = s.connect().unwrap();
        b.send(&[b"BLPOP", b"gone", b"0"]).unwrap();
        wait_blocked(&mut w, 1);
    }
    wait_blocked(&mut w, 0);
    w.cmd_str("RPUSH gone x").unwrap();
    assert_eq!(w.cmd_str("LRANGE gone 0 -1").unwrap(), arr(&["x"]));
}

#[test]
fn bzpopmin_is_served_by_zadd_and_ignores_other_types() {
    let s = server();
    let mut w = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    b.send(&[b"BZPOPMIN", b"z", b"0"]).unwrap();
    wait_blocked(&mut w, 1);
    // A list at the key does not serve a sorted-set waiter.
    w.cmd_str("RPUSH z notazset").unwrap();
    w.cmd_str("DEL z").unwrap();
    wait_blocked(&mut w, 1);
    w.cmd_str("ZADD z 2 two 1 one").unwrap();
    assert_eq!(b.read_frame().unwrap(), arr(&["z", "one", "1"]));
    assert_eq!(w.cmd_str("ZCARD z").unwrap(), Frame::Integer(1));
}

#[test]
fn swapdb_wakes_clients_blocked_on_the_swapped_in_keys() {
    let s = server();
    let mut w = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    b.send(&[b"BLPOP", b"sw", b"0"]).unwrap();
    wait_blocked(&mut w, 1);
    w.cmd_str("SELECT 9").unwrap();
    w.cmd_str("RPUSH sw fromdb9").unwrap();
    w.cmd_str("SWAPDB 0 9").unwrap();
    assert_eq!(b.read_frame().unwrap(), arr(&["sw", "fromdb9"]));
}
