//! Connection threads: one single-threaded tokio runtime per thread, each with its own epoll
//! and timers. An accepted TCP connection is handed to one of them (round robin) and lives
//! there for good, so a request's wakeup, parse, execution and reply all happen on one thread
//! with no cross-thread task scheduling — the work-stealing runtime's per-wakeup cost
//! (atomics, the shared injection queue, unparking another worker) was the largest part of our
//! per-request overhead against Redis's single event loop. Shard locks, not threads, keep data
//! consistent, so connections on different threads still run commands in parallel.
//!
//! `redis-server` starts `io-threads` of them (Redis's option, default 1: like Redis's single
//! event loop, one thread serves every connection, which on a small machine costs the least
//! CPU per request; more threads run commands of different connections in parallel). An
//! embedding program that does not ask for a pool ([`crate::ServerBuilder::io_threads`])
//! keeps every connection on its own runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use tokio::runtime::Handle;
use tokio::sync::watch;

pub struct IoPool {
    handles: Vec<Handle>,
    next: AtomicUsize,
    stop: watch::Sender<bool>,
    threads: parking_lot::Mutex<Vec<JoinHandle<()>>>,
}

impl IoPool {
    /// Starts `n` connection threads (at least one).
    pub fn start(n: usize) -> std::io::Result<IoPool> {
        let (stop, _) = watch::channel(false);
        let mut handles = Vec::new();
        let mut threads = Vec::new();
        for i in 0..n.max(1) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            handles.push(rt.handle().clone());
            let mut rx = stop.subscribe();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("ferrodis-io-{i}"))
                    .spawn(move || {
                        // Spawned connection tasks run while this thread is inside block_on.
                        rt.block_on(async move {
                            while !*rx.borrow() {
                                if rx.changed().await.is_err() {
                                    break;
                                }
                            }
                        });
                        rt.shutdown_background();
                    })?,
            );
        }
        Ok(IoPool {
            handles,
            next: AtomicUsize::new(0),
            stop,
            threads: parking_lot::Mutex::new(threads),
        })
    }

    /// The runtime the next connection goes to.
    pub fn pick(&self) -> &Handle {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        &self.handles[i]
    }

    /// Stops the threads (their remaining connection tasks are dropped) and waits for them.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
    }
}
