//! A `log` backend that keeps records until the Lua shim collects them and
//! writes them with `kong.log`, so they reach nginx's error log in its format.

use std::cell::RefCell;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Records kept between two collections; older ones are dropped past this.
const MAX_PENDING: usize = 256;

thread_local! {
    static PENDING: RefCell<Vec<(&'static str, String)>> = const { RefCell::new(Vec::new()) };
}

struct Collector;

impl Log for Collector {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= Level::Info
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "err",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug | Level::Trace => "debug",
        };
        PENDING.with(|pending| {
            let mut pending = pending.borrow_mut();
            if pending.len() < MAX_PENDING {
                pending.push((level, record.args().to_string()));
            }
        });
    }

    fn flush(&self) {}
}

static COLLECTOR: Collector = Collector;

/// Installs the collector as the `log` backend; later calls change nothing.
pub fn install() {
    if log::set_logger(&COLLECTOR).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}

/// Returns and clears the records kept so far, as (level, message) pairs.
pub fn take() -> Vec<(&'static str, String)> {
    PENDING.with(|pending| std::mem::take(&mut *pending.borrow_mut()))
}
