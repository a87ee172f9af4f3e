//! Loads redis-benchmark cannot express, run by `cargo xtask bench` with the same client shapes:
//! a unit of several commands sent back to back (MULTI, ten SETs, EXEC), and subscribers that
//! must be connected while PUBLISH is benchmarked.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::resp::{self, Reply};

fn connect(port: u16) -> Result<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| Error::io(format!("connecting to 127.0.0.1:{port}"), e))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| Error::io("setting a socket timeout", e))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// RESP encoding of a sequence of commands.
pub fn encode(cmds: &[Vec<String>]) -> Vec<u8> {
    let mut out = Vec::new();
    for args in cmds {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Throughput (units per second) and median latency (ms) of one batch round trip.
pub struct LoadResult {
    pub units_per_second: f64,
    pub p50_ms: f64,
}

/// `clients` connections each send `pipeline` units at a time and read all their replies,
/// until `units` units were sent in all. A unit is `cmds`; every command's reply is read and an
/// error reply fails the run (a benchmark of errors measures nothing).
pub fn run_units(
    port: u16,
    clients: usize,
    pipeline: usize,
    units: u64,
    cmds: &[Vec<String>],
) -> Result<LoadResult> {
    let batch = Arc::new(encode(cmds).repeat(pipeline.max(1)));
    let replies_per_batch = cmds.len() * pipeline.max(1);
    let left = Arc::new(AtomicU64::new(units.div_ceil(pipeline.max(1) as u64)));
    let started = Instant::now();
    let handles: Vec<JoinHandle<Result<Vec<f64>>>> = (0..clients.max(1))
        .map(|_| {
            let batch = batch.clone();
            let left = left.clone();
            std::thread::spawn(move || -> Result<Vec<f64>> {
                let stream = connect(port)?;
                let mut writer = stream
                    .try_clone()
                    .map_err(|e| Error::io("cloning a socket", e))?;
                let mut reader = BufReader::with_capacity(64 * 1024, stream);
                let mut latencies = Vec::new();
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let t = Instant::now();
                    writer
                        .write_all(&batch)
                        .map_err(|e| Error::io("sending a batch", e))?;
                    for _ in 0..replies_per_batch {
                        if let Reply::Error(e) = resp::read_reply(&mut reader)? {
                            return Err(Error::Failed(format!("load command failed: {e}")));
                        }
                    }
                    latencies.push(t.elapsed().as_secs_f64() * 1e3);
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        let lat = h
            .join()
            .map_err(|_| Error::Failed("a load thread panicked".into()))??;
        all.extend(lat);
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let p50_ms = all.get(all.len() / 2).copied().unwrap_or(0.0);
    Ok(LoadResult {
        units_per_second: units as f64 / secs.max(1e-9),
        p50_ms,
    })
}

/// Connections subscribed to a channel that read and drop every message until [`stop`].
///
/// [`stop`]: Subscribers::stop
pub struct Subscribers {
    streams: Vec<TcpStream>,
    handles: Vec<JoinHandle<()>>,
}

impl Subscribers {
    /// `n` connections SUBSCRIBEd to `channel`, each confirmed before this returns.
    pub fn start(port: u16, channel: &str, n: usize) -> Result<Subscribers> {
        let mut streams = Vec::new();
        let mut handles = Vec::new();
        let subscribe = encode(&[vec!["SUBSCRIBE".to_string(), channel.to_string()]]);
        for _ in 0..n {
            let mut stream = connect(port)?;
            stream
                .write_all(&subscribe)
                .map_err(|e| Error::io("sending SUBSCRIBE", e))?;
            let mut reader = BufReader::new(
                stream
                    .try_clone()
                    .map_err(|e| Error::io("cloning a socket", e))?,
            );
            match resp::read_reply(&mut reader)? {
                Reply::Array(Some(_)) => {}
                other => {
                    return Err(Error::Failed(format!(
                        "SUBSCRIBE answered {other:?} instead of a confirmation"
                    )))
                }
            }
            streams.push(stream);
            handles.push(std::thread::spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                let mut inner = reader.into_inner();
                while matches!(inner.read(&mut buf), Ok(n) if n > 0) {}
            }));
        }
        Ok(Subscribers { streams, handles })
    }

    /// Closes every subscriber and waits for its reader.
    pub fn stop(self) {
        for s in &self.streams {
            let _ = s.shutdown(Shutdown::Both);
        }
        for h in self.handles {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_commands() {
        let cmds = vec![
            vec!["MULTI".to_string()],
            vec!["SET".to_string(), "k".to_string(), "v".to_string()],
        ];
        assert_eq!(
            encode(&cmds),
            b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".to_vec()
        );
    }
}
