//! Logs in Gardener's shape: JSON lines with `level` (lower-case), `ts` (ISO 8601), `logger`, `msg`,
//! then flat fields (span fields such as `name`/`namespace` included), or human-readable text.

use crate::options::{LogFormat, LogLevel};
use serde_json::{Map, Value};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as Gardener (zap production config) does.
#[derive(Clone, Debug)]
pub struct GardenerJson {
    logger: String,
}

impl GardenerJson {
    /// A formatter whose `logger` key is `name` (extended by the event target's last segment).
    pub fn new(logger: impl Into<String>) -> Self {
        Self {
            logger: logger.into(),
        }
    }
}

struct FieldVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Value::String(value.into()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), Value::String(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

impl<S, N> FormatEvent<S, N> for GardenerJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert("level".into(), level_name(meta.level()).into());
        let ts = k8s_openapi::jiff::Zoned::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string();
        line.insert("ts".into(), ts.into());
        let logger = match ctx
            .event_scope()
            .and_then(|mut scope| scope.next().map(|s| s.name()))
        {
            Some(span) if span != "reconcile" => format!("{}.{span}", self.logger),
            _ => self.logger.clone(),
        };
        line.insert("logger".into(), logger.into());
        let mut fields = Map::new();
        event.record(&mut FieldVisitor(&mut fields));
        let msg = fields
            .remove("message")
            .unwrap_or(Value::String(String::new()));
        line.insert("msg".into(), msg);
        // Span fields, outermost first, then the event's own fields.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(stored) = extensions.get::<FormattedFields<JsonFields>>()
                    && let Ok(Value::Object(span_fields)) = serde_json::from_str::<Value>(stored)
                {
                    line.extend(span_fields);
                }
            }
        }
        line.extend(fields);
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// Installs the global subscriber for `level` and `format`; `logger` names the extension. Returns
/// an error if a subscriber is already installed.
pub fn init(logger: &str, level: LogLevel, format: LogFormat) -> Result<(), String> {
    let filter = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Error => "error",
    };
    // The chosen level, with the HTTP and TLS stacks kept quiet below warnings.
    let directives =
        format!("{filter},kube=warn,hyper=warn,hyper_util=warn,h2=warn,tower=warn,rustls=warn");
    let filter = tracing_subscriber::EnvFilter::new(directives);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(GardenerJson::new(logger))
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_have_gardener_keys_and_flat_fields() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields::new())
            .event_format(GardenerJson::new("mwe"))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span =
                tracing::info_span!("reconcile", name = "mwe", namespace = "shoot--foo--bar");
            let _entered = span.enter();
            tracing::info!(
                attempt = 2,
                "Hello World, I just entered the Reconcile method"
            );
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert_eq!(keys[..4], ["level", "ts", "logger", "msg"]);
        assert_eq!(line["level"], "info");
        assert_eq!(line["logger"], "mwe");
        assert_eq!(
            line["msg"],
            "Hello World, I just entered the Reconcile method"
        );
        assert_eq!(line["name"], "mwe");
        assert_eq!(line["namespace"], "shoot--foo--bar");
        assert_eq!(line["attempt"], 2);
        let ts = line["ts"].as_str().unwrap();
        assert!(ts.len() >= 23 && ts.as_bytes()[10] == b'T', "{ts}");
    }
}
