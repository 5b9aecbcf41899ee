//! Forwards the core's `tracing` events to the app's logger.

use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

/// Severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Errors.
    Error,
    /// Warnings.
    Warn,
    /// Information.
    Info,
    /// Debugging detail.
    Debug,
}

impl LogLevel {
    fn of(level: &tracing::Level) -> Self {
        match *level {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            _ => LogLevel::Debug,
        }
    }
}

/// The app's log sink (Logcat, os_log). Never receives key bytes or tokens.
#[uniffi::export(foreign)]
pub trait Logger: Send + Sync {
    /// One log line from `target` (a module path).
    fn log(&self, level: LogLevel, target: String, message: String);
}

struct Forward {
    logger: Arc<dyn Logger>,
    max: LogLevel,
}

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            self.0.push_str(&format!("{value:?}"));
        } else {
            self.0.push_str(&format!("{}={value:?}", field.name()));
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Forward {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let level = LogLevel::of(event.metadata().level());
        if level > self.max {
            return;
        }
        let mut message = Message::default();
        event.record(&mut message);
        self.logger
            .log(level, event.metadata().target().to_owned(), message.0);
    }
}

/// Sends the core's log events at `max_level` and above to `logger`. Call once, early;
/// later calls are ignored (the first logger stays).
#[uniffi::export]
pub fn set_logger(logger: Arc<dyn Logger>, max_level: LogLevel) -> bool {
    let subscriber = Registry::default().with(Forward {
        logger,
        max: max_level,
    });
    tracing::subscriber::set_global_default(subscriber).is_ok()
}
