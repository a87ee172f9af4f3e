//! Listeners: TCP (several bind addresses, IPv4/IPv6) and a Unix socket;
//! `maxclients` and protected mode are enforced at accept time.

use crate::client::ClientHandle;
use crate::state::Shared;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, UnixListener};

/// Resolve Redis `bind` entries to socket addresses. A leading `-` marks an
/// address whose failure to bind is not fatal; `*` and `::*` mean any.
pub fn bind_addrs(binds: &[String], port: u16) -> Vec<(SocketAddr, bool)> {
    let mut out = Vec::new();
    for b in binds {
        let (optional, b) = match b.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, b.as_str()),
        };
        let ip: Option<std::net::IpAddr> = match b {
            "*" => Some(std::net::Ipv4Addr::UNSPECIFIED.into()),
            "::*" => Some(std::net::Ipv6Addr::UNSPECIFIED.into()),
            // A host name binds its first address, as Redis's getaddrinfo-based bind.
            other => other.parse().ok().or_else(|| {
                use std::net::ToSocketAddrs;
                (other, port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .map(|a| a.ip())
            }),
        };
        match ip {
            Some(ip) => out.push((SocketAddr::new(ip, port), optional)),
            None => tracing::warn!("Invalid bind address '{}'", b),
        }
    }
    out
}

/// Bind a TCP listener with SO_REUSEADDR (and IPV6_V6ONLY for v6, so `*` and
/// `::*` can both be bound, as Redis does).
pub fn bind_tcp(addr: SocketAddr, backlog: u32) -> std::io::Result<std::net::TcpListener> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        let s = tokio::net::TcpSocket::new_v6()?;
        set_v6only(&s);
        s
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    let l = sock.listen(backlog)?;
    l.into_std()
}

fn set_v6only(s: &tokio::net::TcpSocket) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: valid fd, option value points to a live c_int of the given size.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            &one as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn set_keepalive(fd: i32, secs: u32) {
    if secs == 0 {
        return;
    }
    let one: libc::c_int = 1;
    let idle = secs as libc::c_int;
    let intvl = ((secs / 3).max(1)) as libc::c_int;
    let cnt: libc::c_int = 3;
    // SAFETY: valid fd, option values point to live c_ints.
    unsafe {
        let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            &one as *const _ as *const _,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            &idle as *const _ as *const _,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            &intvl as *const _ as *const _,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPCNT,
            &cnt as *const _ as *const _,
            sz,
        );
    }
}

/// Refuse a connection beyond `maxclients`; true when accepted.
fn admit(sh: &Shared) -> bool {
    sh.stats
        .total_connections_received
        .fetch_add(1, Ordering::Relaxed);
    let max = sh.limits.maxclients.load(Ordering::Relaxed);
    if sh.clients.len() >= max {
        sh.stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        return false;
    }
    true
}

const MAXCLIENTS_ERR: &[u8] = b"-ERR max number of clients reached\r\n";

const PROTECTED_ERR: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Register a new client and start its connection task.
fn spawn_client<S>(sh: &Arc<Shared>, stream: S, addr: String, laddr: String, fd: i32, unix: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let id = sh.clients.next_id();
    let handle = Arc::new(ClientHandle::new(
        id,
        addr,
        laddr,
        fd,
        unix,
        ferrodis_commands::engine::wall_ms(),
    ));
    sh.clients.add(handle.clone());
    let sh2 = sh.clone();
    tokio::spawn(async move {
        // Deregisters the client even if the task unwinds: a bug in one
        // connection must not leave a ghost in CLIENT LIST or the maxclients count.
        struct Deregister(Arc<Shared>, u64);
        impl Drop for Deregister {
            fn drop(&mut self) {
                self.0.clients.remove(self.1);
                self.0.monitors.lock().retain(|(id, _)| *id != self.1);
            }
        }
        let _guard = Deregister(sh2.clone(), id);
        crate::conn::serve(sh2, stream, handle).await;
    });
}

pub async fn accept_tcp(sh: Arc<Shared>, listener: TcpListener) {
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("Accepting client connection: {}", e);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        if !admit(&sh) {
            let _ = stream.write_all(MAXCLIENTS_ERR).await;
            continue;
        }
        if sh.limits.protected_mode.load(Ordering::Relaxed)
            && sh.limits.requirepass.read().is_none()
            && !peer.ip().to_canonical().is_loopback()
        {
            // Redis 7.0 refuses non-loopback clients whatever `bind` says.
            let _ = stream.write_all(PROTECTED_ERR).await;
            continue;
        }
        let _ = stream.set_nodelay(true);
        use std::os::fd::AsRawFd;
        let fd = stream.as_raw_fd();
        set_keepalive(fd, sh.config.read().tcp_keepalive());
        let local = stream
            .local_addr()
            .map(|a| fmt_addr(&a))
            .unwrap_or_default();
        if let Some(pool) = sh.io_pool.get() {
            // Re-registered with the chosen thread's own reactor (a tokio socket stays bound
            // to the reactor it was created on).
            match stream.into_std() {
                Ok(std_stream) => {
                    let sh2 = sh.clone();
                    let peer = fmt_addr(&peer);
                    pool.pick().spawn(async move {
                        match tokio::net::TcpStream::from_std(std_stream) {
                            Ok(s) => spawn_client(&sh2, s, peer, local, fd, false),
                            Err(e) => tracing::warn!("Registering client connection: {}", e),
                        }
                    });
                }
                Err(e) => tracing::warn!("Accepting client connection: {}", e),
            }
            continue;
        }
        spawn_client(&sh, stream, fmt_addr(&peer), local, fd, false);
    }
}

pub async fn accept_unix(sh: Arc<Shared>, listener: UnixListener, path: String) {
    loop {
        let (mut stream, _) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("Accepting client connection: {}", e);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        if !admit(&sh) {
            let _ = stream.write_all(MAXCLIENTS_ERR).await;
            continue;
        }
        use std::os::fd::AsRawFd;
        let fd = stream.as_raw_fd();
        let addr = format!("{}:0", path);
        spawn_client(&sh, stream, addr.clone(), addr, fd, true);
    }
}

/// `ip:port`, IPv6 without brackets as Redis prints it.
pub fn fmt_addr(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => format!("{}:{}", v.ip(), v.port()),
        SocketAddr::V6(v) => match v.ip().to_ipv4_mapped() {
            Some(ip4) => format!("{}:{}", ip4, v.port()),
            None => format!("{}:{}", v.ip(), v.port()),
        },
    }
}

/// Stops every TCP accept task. Their sockets are shut down first, so the kernel refuses new
/// connections at once rather than queueing them until the aborted task drops its listener.
pub fn abort_listeners(sh: &Shared) {
    for fd in sh.tcp_listener_fds.lock().drain(..) {
        // SAFETY: the fd belongs to a listener whose accept task is still running (it is
        // aborted just below), so it is open and ours.
        unsafe {
            libc::shutdown(fd, libc::SHUT_RDWR);
        }
    }
    for t in sh.tcp_listeners.lock().drain(..) {
        t.abort();
    }
}

/// CONFIG SET port/bind: bind the new addresses first, then swap the accept
/// tasks, so a failure leaves the old listeners serving (Redis's
/// changeListenPort behaviour).
pub fn rebind(sh: &Shared, binds: &[String], port: u16, backlog: u32) -> Result<(), String> {
    let Some(me) = sh.self_ref.get().and_then(|w| w.upgrade()) else {
        return Err("Unable to listen on this port. Check server logs.".into());
    };
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return Err("Unable to listen on this port. Check server logs.".into());
    };
    // `port 0` through the embedding API means an ephemeral port picked at start: a bind
    // change keeps that port.
    let port = if port == 0 {
        sh.tcp_port.load(Ordering::Relaxed) as u16
    } else {
        port
    };
    let mut fresh = Vec::new();
    if port != 0 {
        let addrs = bind_addrs(binds, port);
        let required = binds.iter().filter(|b| !b.starts_with('-')).count();
        if addrs.iter().filter(|(_, optional)| !optional).count() < required {
            return Err("Unable to listen on this port. Check server logs.".into());
        }
        let bind_all = |fresh: &mut Vec<std::net::TcpListener>| -> Result<(), bool> {
            let mut in_use = false;
            for &(addr, optional) in &addrs {
                match bind_tcp(addr, backlog.max(1)) {
                    Ok(l) => fresh.push(l),
                    Err(e) => {
                        in_use |= e.kind() == std::io::ErrorKind::AddrInUse;
                        if optional {
                            tracing::warn!("Could not bind {}: {}", addr, e);
                        } else {
                            tracing::warn!("Failed to bind {}: {}", addr, e);
                            return Err(in_use);
                        }
                    }
                }
            }
            // An optional address taken by our own old listener must be retried too.
            if in_use {
                return Err(true);
            }
            Ok(())
        };
        if let Err(in_use) = bind_all(&mut fresh) {
            fresh.clear();
            let old = sh.tcp_listener_fds.lock().clone();
            if !in_use || old.is_empty() {
                return Err("Unable to listen on this port. Check server logs.".into());
            }
            // The new addresses overlap ours (e.g. `*` -> `127.0.0.1` on one port): stop the
            // old listeners first, as Redis does. shutdown(2) takes a listening socket out
            // of LISTEN, which frees its address for SO_REUSEADDR binds; the accept tasks
            // are aborted below. If binding still fails, set_and_apply's rollback rebinds
            // the previous addresses.
            for fd in old {
                // SAFETY: the fd belongs to a listener whose accept task is still running.
                unsafe {
                    libc::shutdown(fd, libc::SHUT_RDWR);
                }
            }
            if bind_all(&mut fresh).is_err() {
                abort_listeners(sh);
                return Err("Unable to listen on this port. Check server logs.".into());
            }
        }
    }
    let _guard = rt.enter();
    let mut tasks = Vec::new();
    for l in fresh {
        if l.set_nonblocking(true).is_err() {
            return Err("Unable to listen on this port. Check server logs.".into());
        }
        match TcpListener::from_std(l) {
            Ok(l) => tasks.push(l),
            Err(_) => return Err("Unable to listen on this port. Check server logs.".into()),
        }
    }
    abort_listeners(sh);
    let mut cur = sh.tcp_listeners.lock();
    let mut fds = sh.tcp_listener_fds.lock();
    for l in tasks {
        fds.push(std::os::fd::AsRawFd::as_raw_fd(&l));
        cur.push(rt.spawn(accept_tcp(me.clone(), l)));
    }
    sh.tcp_port.store(port as usize, Ordering::Relaxed);
    Ok(())
}
