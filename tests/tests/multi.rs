//! MULTI/EXEC/DISCARD/WATCH over real sockets: queueing, EXECABORT after a queue-time error,
//! run-time errors without rollback, WATCH invalidated by other clients' writes, FLUSHALL and
//! expiry, and a blocked client served only after EXEC.

use ferrodis_resp::Frame;
use ferrodis_tests::{bulk, simple, InProcess, RespConn};
use std::time::{Duration, Instant};

fn err(s: &str) -> Frame {
    Frame::Error(s.as_bytes().to_vec().into())
}

fn server() -> InProcess {
    InProcess::start().expect("start ferrodis")
}

fn run(c: &mut RespConn, line: &str) -> Frame {
    c.cmd_str(line).expect("reply")
}

#[test]
fn queued_commands_run_at_exec_in_order() {
    let s = server();
    let mut c = s.connect().unwrap();
    assert_eq!(run(&mut c, "MULTI"), simple("OK"));
    assert_eq!(run(&mut c, "SET a 1"), simple("QUEUED"));
    assert_eq!(run(&mut c, "INCR a"), simple("QUEUED"));
    assert_eq!(run(&mut c, "GET a"), simple("QUEUED"));
    assert_eq!(
        run(&mut c, "EXEC"),
        Frame::Array(vec![simple("OK"), Frame::Integer(2), bulk("2")])
    );
    assert_eq!(run(&mut c, "EXEC"), err("ERR EXEC without MULTI"));
    assert_eq!(run(&mut c, "DISCARD"), err("ERR DISCARD without MULTI"));
}

#[test]
fn queue_time_errors_abort_and_run_time_errors_do_not_roll_back() {
    let s = server();
    let mut c = s.connect().unwrap();
    run(&mut c, "MULTI");
    assert!(matches!(run(&mut c, "NOSUCHCOMMAND"), Frame::Error(_)));
    assert!(matches!(run(&mut c, "GET"), Frame::Error(_)));
    run(&mut c, "SET x 1");
    assert_eq!(
        run(&mut c, "EXEC"),
        err("EXECABORT Transaction discarded because of previous errors.")
    );
    assert_eq!(run(&mut c, "EXISTS x"), Frame::Integer(0));

    run(&mut c, "SET str v");
    run(&mut c, "MULTI");
    run(&mut c, "LPUSH str x");
    run(&mut c, "SET y 2");
    let Frame::Array(replies) = run(&mut c, "EXEC") else {
        panic!("EXEC reply");
    };
    assert!(matches!(&replies[0], Frame::Error(e) if e.starts_with(b"WRONGTYPE")));
    assert_eq!(replies[1], simple("OK"));
    assert_eq!(run(&mut c, "GET y"), bulk("2"));
}

#[test]
fn nested_multi_and_watch_inside_multi_are_refused() {
    let s = server();
    let mut c = s.connect().unwrap();
    run(&mut c, "MULTI");
    assert_eq!(
        run(&mut c, "MULTI"),
        err("ERR MULTI calls can not be nested")
    );
    assert_eq!(
        run(&mut c, "WATCH k"),
        err("ERR WATCH inside MULTI is not allowed")
    );
    // Neither aborts the transaction.
    run(&mut c, "SET k v");
    assert_eq!(run(&mut c, "EXEC"), Frame::Array(vec![simple("OK")]));
}

#[test]
fn watch_fails_exec_after_another_clients_write() {
    let s = server();
    let mut c = s.connect().unwrap();
    let mut other = s.connect().unwrap();
    run(&mut c, "SET k 1");
    run(&mut c, "WATCH k");
    run(&mut other, "INCR k");
    run(&mut c, "MULTI");
    run(&mut c, "SET k 100");
    assert_eq!(run(&mut c, "EXEC"), Frame::NullArray);
    assert_eq!(run(&mut c, "GET k"), bulk("2"));
    // Without a foreign write the transaction runs; UNWATCH forgets.
    run(&mut c, "WATCH k");
    run(&mut other, "SET k 3");
    run(&mut c, "UNWATCH");
    run(&mut c, "MULTI");
    run(&mut c, "SET k 4");
    assert_eq!(run(&mut c, "EXEC"), Frame::Array(vec![simple("OK")]));
}

#[test]
fn flushall_and_expiry_touch_watched_keys() {
    let s = server();
    let mut c = s.connect().unwrap();
    let mut other = s.connect().unwrap();
    run(&mut c, "SET k 1");
    run(&mut c, "WATCH k");
    run(&mut other, "FLUSHALL");
    run(&mut c, "MULTI");
    run(&mut c, "PING");
    assert_eq!(run(&mut c, "EXEC"), Frame::NullArray);

    // A key that expires after WATCH fails EXEC even if nobody deleted it yet.
    run(&mut c, "DEBUG SET-ACTIVE-EXPIRE 0");
    run(&mut c, "SET e v PX 50");
    run(&mut c, "WATCH e");
    std::thread::sleep(Duration::from_millis(100));
    run(&mut c, "MULTI");
    run(&mut c, "PING");
    assert_eq!(run(&mut c, "EXEC"), Frame::NullArray);

    // A key already expired when watched is stale: deleting it is no change.
    run(&mut c, "SET s v PX 1");
    std::thread::sleep(Duration::from_millis(20));
    run(&mut c, "WATCH s");
    run(&mut other, "DEL s");
    run(&mut c, "MULTI");
    run(&mut c, "PING");
    assert_eq!(run(&mut c, "EXEC"), Frame::Array(vec![simple("PONG")]));
    run(&mut c, "DEBUG SET-ACTIVE-EXPIRE 1");
}

#[test]
fn blocked_client_is_served_after_exec_with_the_final_state() {
    let s = server();
    let mut w = s.connect().unwrap();
    let mut b = s.connect().unwrap();
    b.send(&[b"BLPOP", b"blist", b"0"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let Frame::Bulk(info) = run(&mut w, "INFO clients") else {
            panic!("INFO");
        };
        if String::from_utf8_lossy(&info).contains("blocked_clients:1") {
            break;
        }
        assert!(Instant::now() < deadline, "client never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
    run(&mut w, "MULTI");
    run(&mut w, "LPUSH blist a");
    run(&mut w, "LPUSH blist b");
    run(&mut w, "LPUSH blist c");
    run(&mut w, "EXEC");
    assert_eq!(
        b.read_frame().unwrap(),
        Frame::Array(vec![bulk("blist"), bulk("c")])
    );
    // LPUSH + DEL in one transaction: the key never existed between commands for others.
    b.send(&[b"BLPOP", b"other", b"0.3"]).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    run(&mut w, "MULTI");
    run(&mut w, "LPUSH other x");
    run(&mut w, "DEL other");
    run(&mut w, "EXEC");
    assert_eq!(b.read_frame().unwrap(), Frame::NullArray);
}
