//! Micro benchmark of the hot paths, printing ns per operation:
//!
//! ```text
//! cargo run --release -p ferrodis-resp --example resp_bench
//! ```
//!
//! Absolute numbers on a shared machine are noise; compare runs before and
//! after a change on the same machine.

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use ferrodis_resp::encode::{write_array_len, write_bulk, write_double, write_integer};
use ferrodis_resp::request::{Limits, RequestParser};
use ferrodis_resp::{decode_frame, split_args};

const ROUNDS: usize = 20;
const BATCH: usize = 10_000;

fn report(name: &str, ops: usize, start: Instant) {
    let ns = start.elapsed().as_nanos() as f64 / ops as f64;
    println!("{name:<40} {ns:>8.1} ns/op");
}

fn main() {
    let limits = Limits::default();
    let set = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    let mut input = Vec::with_capacity(set.len() * BATCH);
    for _ in 0..BATCH {
        input.extend_from_slice(set);
    }

    // Multibulk SET commands, a pipeline of BATCH per buffer.
    let mut parser = RequestParser::new();
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let mut buf = BytesMut::from(&input[..]);
        let mut n = 0;
        while let Ok(Some(args)) = parser.parse(&mut buf, &limits) {
            n += black_box(args).len();
        }
        assert_eq!(n, 3 * BATCH);
    }
    report("request: multibulk SET key value", ROUNDS * BATCH, start);

    // Inline commands.
    let inline = b"SET key value\r\n".repeat(BATCH);
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let mut buf = BytesMut::from(&inline[..]);
        while let Ok(Some(args)) = parser.parse(&mut buf, &limits) {
            black_box(args);
        }
    }
    report("request: inline SET key value", ROUNDS * BATCH, start);

    let start = Instant::now();
    for _ in 0..ROUNDS * BATCH {
        black_box(split_args(black_box(b"set \"a b\" 'c' d")));
    }
    report("split_args (4 args, quoted)", ROUNDS * BATCH, start);

    // Reply encoding.
    let mut out = BytesMut::with_capacity(1 << 20);
    let start = Instant::now();
    for _ in 0..ROUNDS {
        out.clear();
        for i in 0..BATCH {
            write_array_len(&mut out, 2);
            write_bulk(&mut out, b"value");
            write_integer(&mut out, i as i64);
        }
    }
    report("encode: *2 + bulk + integer", ROUNDS * BATCH, start);

    let start = Instant::now();
    for _ in 0..ROUNDS {
        out.clear();
        for i in 0..BATCH {
            write_double(&mut out, i as f64 * 1.1, 3);
        }
    }
    report("encode: double (%.17g)", ROUNDS * BATCH, start);

    // Client-side decoding of the same SET requests as frames.
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let mut rest = &input[..];
        while let Ok(Some((f, n))) = decode_frame(rest) {
            black_box(f);
            rest = &rest[n..];
        }
    }
    report("decode_frame: *3 of bulks", ROUNDS * BATCH, start);
}
