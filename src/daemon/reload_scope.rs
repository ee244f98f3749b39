//! What a reload (SIGHUP, `POST /api/reload`) can apply while connected, and what needs
//! a restart: a changed channel, bind address or bridge list used to be ignored silently;
//! now every such key is named in one warning.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;
use tracing::warn;

use super::DaemonError;
use super::plan::{Plan, Shard};
use crate::pipeline::{Pipeline, PipelineConfig};

/// Keys a reload applies: each bridge's routes, templates, filters and prices (the
/// pipeline swaps them in, see [`crate::pipeline::Pipeline::reconfigure`]).
const APPLIED_BY_RELOAD: &[&str] = &["routes", "filters", "pricing"];

/// Every key path whose value differs between `old` and `new` (both the typed config,
/// serialised) and that a reload does not apply, sorted; `[[bridge]]` entries are
/// compared by index, and a bridge added or removed is `bridge[i]`.
pub fn needs_restart(old: &Value, new: &Value) -> Vec<String> {
    let mut changed = Vec::new();
    diff("", old, new, &mut changed);
    changed.retain(|path| !applied(path));
    changed.sort();
    changed.dedup();
    changed
}

/// Whether a reload applies `path` (top level, or inside a `[[bridge]]`).
fn applied(path: &str) -> bool {
    let local = match path.strip_prefix("bridge[") {
        Some(rest) => match rest.split_once("].") {
            Some((_, key)) => key,
            None => return false,
        },
        None => path,
    };
    APPLIED_BY_RELOAD
        .iter()
        .any(|k| local == *k || local.starts_with(&format!("{k}.")))
}

fn diff(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                diff(&join(key), value, b.get(key).unwrap_or(&Value::Null), out);
            }
            for (key, value) in b {
                if !a.contains_key(key) {
                    diff(&join(key), &Value::Null, value, out);
                }
            }
        }
        // The bridge list: entry by entry, so one edited bridge names its own keys.
        (Value::Array(a), Value::Array(b)) if path == "bridge" => {
            for i in 0..a.len().max(b.len()) {
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => diff(&format!("bridge[{i}]"), x, y, out),
                    _ => out.push(format!("bridge[{i}]")),
                }
            }
        }
        (a, b) if a != b => out.push(path.to_owned()),
        _ => {}
    }
}

/// A handle to send new pipeline configs to running bridges: SIGHUP where it exists, and
/// `POST /api/reload` everywhere (Windows has no SIGHUP).
#[derive(Debug, Clone, Default)]
pub struct Reloader {
    pub(super) senders: Vec<(String, watch::Sender<PipelineConfig>)>,
    /// The config file and shard the running plan came from.
    pub(super) source: Option<(std::path::PathBuf, Option<Shard>)>,
    /// The config the daemon started with, to name what a reload cannot apply.
    pub(super) started: Option<Arc<serde_json::Value>>,
}

impl Reloader {
    /// Reads the config file again and applies its routes, templates and filters (see
    /// [`Reloader::reload`]); connections stay up. Any problem leaves the running config
    /// as it was.
    pub fn reload_file(&self) -> Result<usize, DaemonError> {
        let Some((path, shard)) = &self.source else {
            return Err(DaemonError::Unsupported(
                "this daemon was not started from a config file".into(),
            ));
        };
        let loaded = crate::config::load(Some(path), crate::pipeline::Pipeline::check).map_err(|e| DaemonError::Reload(e.to_string()))?;
        let plan = Plan::from_config(&loaded, *shard)?;
        let applied = self.reload(&plan)?;
        if let Some(started) = &self.started {
            let pending = needs_restart(started, &plan.config_snapshot);
            if !pending.is_empty() {
                warn!(
                    keys = %pending.join(", "),
                    "reload applied routes, templates, filters and prices; these changes need a restart to take effect"
                );
            }
        }
        Ok(applied)
    }

    /// Checks every bridge's new config first; applies them only if all check out.
    pub fn reload(&self, plan: &Plan) -> Result<usize, DaemonError> {
        for bridge in &plan.bridges {
            Pipeline::new(&bridge.pipeline).map_err(|errors| DaemonError::Pipeline {
                bridge: bridge.name.clone(),
                errors,
            })?;
        }
        let mut applied = 0;
        for (name, tx) in &self.senders {
            if let Some(bridge) = plan.bridges.iter().find(|b| &b.name == name) {
                let _ = tx.send(bridge.pipeline.clone());
                applied += 1;
            }
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn channels_binds_and_bridges_need_a_restart_templates_do_not() {
        let old = json!({
            "twitch": {"channels": ["a"], "bot_login": "bot"},
            "http": {"bind": "127.0.0.1:9464"},
            "routes": {"chat": {"template": "{{user}}: {{text}}"}},
            "bridge": [{"name": "x", "routes": {"chat": {"template": "a"}}}],
        });
        let new = json!({
            "twitch": {"channels": ["a", "b"], "bot_login": "bot"},
            "http": {"bind": "0.0.0.0:9464"},
            "routes": {"chat": {"template": "{{user}} says {{text}}"}},
            "bridge": [
                {"name": "x", "routes": {"chat": {"template": "b"}}, "twitch_channels": ["c"]},
                {"name": "y"},
            ],
        });
        assert_eq!(
            needs_restart(&old, &new),
            [
                "bridge[0].twitch_channels",
                "bridge[1]",
                "http.bind",
                "twitch.channels"
            ]
        );
        assert!(needs_restart(&old, &old).is_empty());
    }
}
