//! Structured logs on stderr (stdout is kept for JSON results).

use telsec_node::config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Install the global subscriber: `RUST_LOG` wins over the config's filter.
pub fn init(config: &LogConfig, force_json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(config.filter.as_str()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if force_json || config.format == LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}
