//! Logging through `tracing`, in Redis's log line format:
//! `pid:M 22 Nov 2026 00:42:20.123 * message` (`.` debug, `-` verbose,
//! `*` notice, `#` warning).

use std::fmt;
use std::io::Write;
use std::sync::Mutex;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

struct RedisFormat {
    role: char,
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes into the zeroed struct we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        MONTHS[(tm.tm_mon.clamp(0, 11)) as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let lvl = match *event.metadata().level() {
            Level::ERROR | Level::WARN => '#',
            Level::INFO => '*',
            Level::DEBUG => '-',
            Level::TRACE => '.',
        };
        write!(
            w,
            "{}:{} {} {} ",
            std::process::id(),
            self.role,
            timestamp(),
            lvl
        )?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Log destination: stdout, or a file opened in append mode.
struct Sink(Mutex<Box<dyn Write + Send>>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for &'static Sink {
    type Writer = SinkGuard<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        SinkGuard(self)
    }
}

pub struct SinkGuard<'a>(&'a Sink);

impl Write for SinkGuard<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0 .0.lock() {
            Ok(mut w) => {
                let n = w.write(buf)?;
                w.flush()?;
                Ok(n)
            }
            Err(_) => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Install the global subscriber. `loglevel` is Redis's (debug, verbose,
/// notice, warning, nothing); `logfile` empty means stdout.
pub fn init(loglevel: &str, logfile: &str) -> std::io::Result<()> {
    let level = match loglevel {
        "debug" => Some(Level::TRACE),
        "verbose" => Some(Level::DEBUG),
        "notice" => Some(Level::INFO),
        "warning" => Some(Level::WARN),
        _ => None,
    };
    let writer: Box<dyn Write + Send> = if logfile.is_empty() {
        Box::new(std::io::stdout())
    } else {
        Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(logfile)?,
        )
    };
    let sink: &'static Sink = Box::leak(Box::new(Sink(Mutex::new(writer))));
    let Some(level) = level else {
        return Ok(());
    };
    let sub = tracing_subscriber::fmt()
        .with_max_level(level)
        .event_format(RedisFormat { role: 'M' })
        .with_writer(sink)
        .finish();
    let _ = tracing::subscriber::set_global_default(sub);
    Ok(())
}
