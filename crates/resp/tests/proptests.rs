//! Property tests: encode/decode round trips, chunking independence, and
//! arbitrary input never panicking either decoder.

use bytes::{Bytes, BytesMut};
use ferrodis_resp::encode::{encode_frame, write_array_len, write_bulk};
use ferrodis_resp::request::{Limits, ProtocolError, RequestParser};
use ferrodis_resp::{decode_frame, Frame};
use proptest::prelude::*;

/// Bytes without CR/LF, as simple strings and errors require.
fn line_bytes() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..12,
    )
    .prop_map(Bytes::from)
}

fn any_bytes() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..20).prop_map(Bytes::from)
}

fn leaf() -> impl Strategy<Value = Frame> {
    prop_oneof![
        line_bytes().prop_map(Frame::Simple),
        line_bytes().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        any_bytes().prop_map(Frame::Bulk),
        Just(Frame::NullBulk),
        Just(Frame::NullArray),
        Just(Frame::Null),
        any::<bool>().prop_map(Frame::Boolean),
        any::<f64>()
            .prop_filter("NaN != NaN", |d| !d.is_nan())
            .prop_map(Frame::Double),
        "-?[1-9][0-9]{0,40}".prop_map(|s| Frame::BigNumber(Bytes::from(s))),
        (proptest::array::uniform3(any::<u8>()), any_bytes())
            .prop_map(|(format, data)| Frame::Verbatim { format, data }),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        let pairs = proptest::collection::vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
            pairs.clone().prop_map(Frame::Map),
            (pairs, inner).prop_map(|(attrs, data)| Frame::Attribute {
                attrs,
                data: Box::new(data)
            }),
        ]
    })
}

/// Split `data` at the given (sorted, deduplicated) cut points.
fn chunks(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    for p in points {
        out.push(data[start..p].to_vec());
        start = p;
    }
    out.push(data[start..].to_vec());
    out
}

/// Decode frames as the chunks arrive, like a client reading a socket.
fn decode_stream(chunks: &[Vec<u8>]) -> Result<Vec<Frame>, ferrodis_resp::FrameError> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        while let Some((f, n)) = decode_frame(&buf)? {
            out.push(f);
            buf.drain(..n);
        }
    }
    Ok(out)
}

type RequestOutcome = (Vec<Vec<Bytes>>, Option<ProtocolError>);

/// Parse requests as the chunks arrive, stopping at the first error.
fn parse_stream(chunks: &[Vec<u8>], limits: &Limits) -> RequestOutcome {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut cmds = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            match p.parse(&mut buf, limits) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "empty requests are skipped");
                    cmds.push(args);
                }
                Ok(None) => break,
                Err(e) => return (cmds, Some(e)),
            }
        }
    }
    (cmds, None)
}

/// A request and how to send it.
#[derive(Debug, Clone)]
enum Request {
    Multibulk(Vec<Vec<u8>>),
    /// Arguments free of blanks, quotes and NULs, sent as an inline line.
    Inline(Vec<Vec<u8>>, bool),
    /// Something Redis skips: `*0`, `*-1`, a blank line.
    Skipped(&'static [u8]),
}

const SKIPPED: &[&[u8]] = &[b"*0\r\n", b"*-1\r\n", b"\r\n", b"  \n"];

const RESP_TOKENS: &[&[u8]] = &[
    b"*", b"%", b"|", b"~", b">", b"$", b"=", b"!", b":", b",", b"#", b"_", b"+", b"-", b"(", b"1",
    b"2", b"4", b"-1", b"\r\n", b"txt:", b"t", b"inf", b"?",
];

fn request() -> impl Strategy<Value = Request> {
    let word = proptest::collection::vec(
        any::<u8>().prop_filter("plain", |b| !b" \t\r\n\x0b\x0c\"'\0".contains(b)),
        1..8,
    );
    prop_oneof![
        4 => proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..10), 1..5)
            .prop_map(Request::Multibulk),
        // A line starting with `*` would be read as multibulk, as in Redis.
        2 => (proptest::collection::vec(word, 1..4), any::<bool>())
            .prop_filter("not multibulk", |(w, _)| w[0][0] != b'*')
            .prop_map(|(w, crlf)| Request::Inline(w, crlf)),
        1 => proptest::sample::select(SKIPPED).prop_map(Request::Skipped),
    ]
}

fn encode_request(r: &Request, out: &mut BytesMut) -> Option<Vec<Vec<u8>>> {
    match r {
        Request::Multibulk(args) => {
            write_array_len(out, args.len());
            for a in args {
                write_bulk(out, a);
            }
            Some(args.clone())
        }
        Request::Inline(args, crlf) => {
            out.extend_from_slice(&args.join(&b' '));
            out.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
            Some(args.clone())
        }
        Request::Skipped(raw) => {
            out.extend_from_slice(raw);
            None
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frame_round_trip(f in frame()) {
        let mut out = BytesMut::new();
        encode_frame(&f, &mut out);
        let decoded = decode_frame(&out).expect("valid").expect("complete");
        prop_assert_eq!(decoded, (f, out.len()));
        // Every strict prefix is incomplete, never an error.
        for cut in 0..out.len() {
            prop_assert_eq!(decode_frame(&out[..cut]), Ok(None));
        }
    }

    #[test]
    fn frame_stream_chunking(frames in proptest::collection::vec(frame(), 1..6),
                             cuts in proptest::collection::vec(any::<usize>(), 0..10)) {
        let mut out = BytesMut::new();
        for f in &frames {
            encode_frame(f, &mut out);
        }
        prop_assert_eq!(decode_stream(&chunks(&out, &cuts)), Ok(frames));
    }

    #[test]
    fn request_stream_chunking(reqs in proptest::collection::vec(request(), 1..8),
                               cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let mut out = BytesMut::new();
        let expected: Vec<Vec<Vec<u8>>> =
            reqs.iter().filter_map(|r| encode_request(r, &mut out)).collect();
        let (cmds, err) = parse_stream(&chunks(&out, &cuts), &Limits::default());
        prop_assert_eq!(err, None);
        let got: Vec<Vec<Vec<u8>>> =
            cmds.iter().map(|c| c.iter().map(|a| a.to_vec()).collect()).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn decode_frame_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(Some((_, n))) = decode_frame(&data) {
            prop_assert!(n > 0 && n <= data.len());
        }
    }

    #[test]
    fn decode_frame_never_panics_on_resp_like_input(
        parts in proptest::collection::vec(proptest::sample::select(RESP_TOKENS), 0..40)
    ) {
        let data = parts.concat();
        if let Ok(Some((_, n))) = decode_frame(&data) {
            prop_assert!(n > 0 && n <= data.len());
        }
    }

    /// Arbitrary bytes: no panic, and the outcome does not depend on how the
    /// input is split (below the 64 KiB line limit, where Redis's own result
    /// depends on read sizes).
    #[test]
    fn request_parser_arbitrary_input(
        parts in proptest::collection::vec(prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..8),
            Just(b"*2\r\n".to_vec()), Just(b"$3\r\n".to_vec()), Just(b"\r\n".to_vec()),
            Just(b"\"".to_vec()), Just(b"'".to_vec()), Just(b"\\x4".to_vec()),
            Just(b"$-1\r\n".to_vec()), Just(b"*0\r\n".to_vec()), Just(b" ".to_vec()),
        ], 0..30),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
        authenticated in any::<bool>(),
    ) {
        let data = parts.concat();
        let limits = Limits { proto_max_bulk_len: 64, authenticated };
        let whole = parse_stream(std::slice::from_ref(&data), &limits);
        let chunked = parse_stream(&chunks(&data, &cuts), &limits);
        prop_assert_eq!(whole, chunked);
    }
}
