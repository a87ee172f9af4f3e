//! Fuzzes both RESP decoders with the same bytes:
//! - `decode_frame`: never panics; whatever it decodes re-encodes to bytes
//!   that decode to a frame with the same encoding;
//! - `RequestParser`: never panics, and the commands/error it produces do not
//!   depend on how the input is split into reads (the first byte picks the
//!   read size).
#![no_main]

use bytes::BytesMut;
use ferrodis_resp::encode::encode_frame;
use ferrodis_resp::request::{Limits, ProtocolError, RequestParser};
use ferrodis_resp::{decode_frame, split_args};
use libfuzzer_sys::fuzz_target;

type Outcome = (Vec<Vec<bytes::Bytes>>, Option<ProtocolError>);

fn parse_in_reads(data: &[u8], read_size: usize, limits: &Limits) -> Outcome {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut cmds = Vec::new();
    for chunk in data.chunks(read_size.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf, limits) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty());
                    cmds.push(args);
                }
                Ok(None) => break,
                Err(e) => return (cmds, Some(e)),
            }
        }
    }
    (cmds, None)
}

fuzz_target!(|data: &[u8]| {
    // Frame decoder.
    if let Ok(Some((frame, n))) = decode_frame(data) {
        assert!(n > 0 && n <= data.len());
        let mut first = BytesMut::new();
        encode_frame(&frame, &mut first);
        let (again, m) = decode_frame(&first)
            .expect("re-encoded frame is valid")
            .expect("re-encoded frame is complete");
        assert_eq!(m, first.len());
        let mut second = BytesMut::new();
        encode_frame(&again, &mut second);
        assert_eq!(first, second);
    }

    // Request parser. Below the 64 KiB line limit the outcome must not
    // depend on read sizes (above it, Redis's own outcome does).
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        proto_max_bulk_len: 1 << 20,
        authenticated: selector & 0x80 == 0,
    };
    let whole = parse_in_reads(rest, rest.len(), &limits);
    let chunked = parse_in_reads(rest, usize::from(selector & 0x7f), &limits);
    if rest.len() < 60 * 1024 {
        assert_eq!(whole, chunked);
    }

    let _ = split_args(rest);
});
