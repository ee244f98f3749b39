//! The real `tiktwitch` binary as a user runs it, for the tests that stop it with signals
//! and read what it prints. Output is read as it comes (a trace log fills a pipe at once,
//! and a child blocked on a full pipe never gets anywhere), kept whole for failure
//! messages, and offered line by line to waits. Every wait has a deadline that is only a
//! failure bound.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The failure bound of every wait on the process.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// `tiktwitch --config <config>` with no colour, no stdin, both outputs piped, killed if
/// the test ends first. Secrets given by a test's environment never leak in from the
/// developer's.
pub fn tiktwitch(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tiktwitch"));
    cmd.arg("--config")
        .arg(config)
        .env("NO_COLOR", "1")
        .env_remove("TIKTWITCH_SECRET_TWITCH_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// `tiktwitch --config <config> run` at `rust_log`.
pub fn run(config: &Path, rust_log: &str) -> Command {
    let mut cmd = tiktwitch(config);
    cmd.arg("run").env("RUST_LOG", rust_log);
    cmd
}

/// Runs `cmd` to its end (within [`DEADLINE`]) and returns what it printed.
pub async fn output(mut cmd: Command) -> std::process::Output {
    let child = cmd.spawn().unwrap();
    tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{cmd:?} did not end within {DEADLINE:?}"))
        .unwrap()
}

/// `kill -<sig> <pid>`; asserts it was delivered.
pub fn signal(sig: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} {pid}: {status:?}");
}

/// A port free a moment ago, for configs that must name their bind address up front.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running child and everything it printed so far (stdout and stderr, by line).
pub struct Running {
    pub child: Child,
    log: Arc<Mutex<String>>,
    lines: mpsc::UnboundedReceiver<String>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Spawns `cmd` (as made by [`tiktwitch`] or [`run`]).
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::unbounded_channel();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(read_lines(out, log.clone(), tx.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(read_lines(err, log.clone(), tx));
        }
        Self {
            child,
            log,
            lines,
            readers,
        }
    }

    /// The process id (while it runs).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the process is running")
    }

    /// Everything printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The first line from now on that `matches`; panics with the log if the process
    /// ends first or the deadline passes.
    pub async fn line(&mut self, what: &str, mut matches: impl FnMut(&str) -> bool) -> String {
        let found = tokio::time::timeout(DEADLINE, async {
            while let Some(line) = self.lines.recv().await {
                if matches(&line) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the process ended before {what}:\n{}", self.tail()),
            Err(_) => panic!("{what}: not within {DEADLINE:?}:\n{}", self.tail()),
        }
    }

    /// Waits for `f` unless the process ends first (then the log's tail is the panic).
    pub async fn until<F: std::future::Future<Output = ()>>(&mut self, what: &str, f: F) {
        tokio::select! {
            r = tokio::time::timeout(DEADLINE, f) => {
                if r.is_err() {
                    let _ = self.child.start_kill();
                    panic!("{what}: not within {DEADLINE:?}:\n{}", self.tail());
                }
            }
            status = self.child.wait() => {
                for reader in self.readers.drain(..) {
                    let _ = reader.await;
                }
                panic!("the process ended ({status:?}) before {what}:\n{}", self.tail());
            }
        }
    }

    /// Waits (within `bound`) for the process to end: its status and everything it printed.
    pub async fn finish_within(mut self, bound: Duration) -> (ExitStatus, String) {
        let status = match tokio::time::timeout(bound, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!("the process did not end within {bound:?}:\n{}", self.tail()),
        };
        for reader in self.readers.drain(..) {
            let _ = reader.await;
        }
        (status, self.log())
    }

    /// [`Self::finish_within`] the [`DEADLINE`].
    pub async fn finish(self) -> (ExitStatus, String) {
        self.finish_within(DEADLINE).await
    }

    /// The last 40 lines, for failure messages.
    fn tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

fn read_lines(
    stream: impl AsyncRead + Unpin + Send + 'static,
    log: Arc<Mutex<String>>,
    tx: mpsc::UnboundedSender<String>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
            // Nobody waiting for lines is fine: the log keeps them.
            let _ = tx.send(line);
        }
    })
}
