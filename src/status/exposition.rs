//! A writer of the Prometheus text format (version 0.0.4): `/metrics` is written by the
//! daemon (bridges, sink, auth) and the feed (clients, webhooks, the ring file) into one
//! text, so the writer lives here, under both.

use std::fmt::Write;

/// Accumulates metric families; each family's `# HELP`/`# TYPE` header is written once.
#[derive(Default)]
pub struct Exposition {
    out: String,
    declared: std::collections::HashSet<&'static str>,
}

impl Exposition {
    /// One sample. `labels` values are escaped here.
    pub fn sample(
        &mut self,
        name: &'static str,
        kind: &str,
        help: &str,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        if self.declared.insert(name) {
            let _ = writeln!(self.out, "# HELP {name} {help}");
            let _ = writeln!(self.out, "# TYPE {name} {kind}");
        }
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A counter sample.
    pub fn counter(&mut self, name: &'static str, help: &str, labels: &[(&str, &str)], value: u64) {
        self.sample(name, "counter", help, labels, value as f64);
    }

    /// A gauge sample.
    pub fn gauge(&mut self, name: &'static str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.sample(name, "gauge", help, labels, value);
    }

    /// A histogram family: cumulative `_bucket{le=...}` samples (bounds in seconds), then
    /// `_sum` (seconds) and `_count`.
    pub fn histogram(
        &mut self,
        name: &'static str,
        help: &str,
        bounds_secs: &[f64],
        cumulative: &[u64],
        sum_secs: f64,
        count: u64,
    ) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} histogram");
        for (bound, n) in bounds_secs.iter().zip(cumulative) {
            let _ = writeln!(self.out, "{name}_bucket{{le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(self.out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(self.out, "{name}_sum {sum_secs}");
        let _ = writeln!(self.out, "{name}_count {count}");
    }

    /// The finished text. Samples of one family must be added together (they are, below).
    pub fn finish(self) -> String {
        self.out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_declared_once_and_labels_escaped() {
        let mut e = Exposition::default();
        e.counter("x_total", "An x.", &[("a", "q\"uote")], 1);
        e.counter("x_total", "An x.", &[("a", "b")], 2);
        let text = e.finish();
        assert_eq!(text.matches("# TYPE x_total counter").count(), 1);
        assert!(text.contains("x_total{a=\"q\\\"uote\"} 1"));
        assert!(text.contains("x_total{a=\"b\"} 2"));
    }
}
