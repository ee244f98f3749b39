//! The files under deploy/ say what the program does: the Kubernetes config is a valid
//! config, the probes name the endpoints the listener serves, images are pinned to this
//! version, and the launchd agent logs to the user's own folder.

use std::collections::HashMap;
use std::path::Path;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The TOML inside the ConfigMap's `config.toml: |` block.
fn configmap_toml() -> String {
    let yaml = read("deploy/kubernetes/configmap.yaml");
    let (_, block) = yaml
        .split_once("config.toml: |\n")
        .expect("the ConfigMap has a config.toml block");
    block
        .lines()
        .take_while(|line| line.is_empty() || line.starts_with("    "))
        .map(|line| line.strip_prefix("    ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ConfigMap's config, loaded and checked as `run` would (no environment).
fn load_configmap() -> tiktwitch::config::Loaded {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, configmap_toml()).unwrap();
    tiktwitch::config::load_with_env(
        &path,
        Some(HashMap::new()),
        tiktwitch::pipeline::Pipeline::check,
    )
    .unwrap_or_else(|e| panic!("deploy/kubernetes/configmap.yaml: {e}"))
}

#[test]
fn the_kubernetes_config_is_valid_and_listens_for_the_probes() {
    let loaded = load_configmap();
    assert_eq!(loaded.bridges.len(), 2);
    let http = &loaded.config.http;
    assert!(http.enabled, "the probes need the listener");
    assert!(
        http.bind.ends_with(":9464") && http.bind.starts_with("0.0.0.0"),
        "{}",
        http.bind
    );
}

#[test]
fn probes_name_endpoints_the_listener_serves() {
    let routes = read("src/daemon/http_routes.rs");
    let statefulset = read("deploy/kubernetes/statefulset.yaml");
    for (probe, path) in [("livenessProbe", "/livez"), ("readinessProbe", "/readyz")] {
        let after = statefulset
            .split_once(&format!("{probe}:"))
            .unwrap_or_else(|| panic!("statefulset has no {probe}"))
            .1;
        let next_line = after.lines().nth(1).unwrap_or_default();
        assert!(
            next_line.contains(&format!("path: {path}")),
            "{probe}: {next_line}"
        );
        assert!(
            routes.contains(&format!(".route(\"{path}\"")),
            "{path} is not served"
        );
    }
    for file in ["deploy/docker/Dockerfile", "deploy/docker/compose.yaml"] {
        assert!(
            read(file).contains("probe\", \"--url\", \"http://127.0.0.1:9464/livez\""),
            "{file}"
        );
    }
}

#[test]
fn images_are_pinned_to_this_version() {
    let tag = format!("tiktwitch:{}", env!("CARGO_PKG_VERSION"));
    for file in [
        "deploy/kubernetes/statefulset.yaml",
        "deploy/docker/compose.yaml",
        "deploy/docker/Dockerfile",
        "README.md",
    ] {
        let text = read(file);
        assert!(!text.contains("tiktwitch:latest"), "{file} uses :latest");
        assert!(text.contains(&tag), "{file} does not name {tag}");
    }
}

#[test]
fn the_launch_agent_logs_to_the_users_library() {
    let plist = read("deploy/launchd/com.tiktwitch.bridge.plist");
    assert!(
        !plist.contains("<string>/Users/Shared"),
        "world-readable log folder"
    );
    assert!(plist.contains("<string>__HOME__/Library/Logs/tiktwitch/tiktwitch.log</string>"));
    let readme = read("deploy/launchd/README.md");
    assert!(
        readme.contains("sed \"s|__HOME__|$HOME|g\""),
        "the install fills in __HOME__"
    );
    // The drain finishes before launchd's kill.
    let exit_timeout: u64 = plist
        .split_once("<key>ExitTimeOut</key>")
        .and_then(|(_, rest)| rest.split_once("<integer>"))
        .and_then(|(_, rest)| rest.split_once("</integer>"))
        .map(|(n, _)| n.trim().parse().unwrap())
        .expect("ExitTimeOut");
    let grace = tiktwitch::config::Config::default().shutdown.grace_secs;
    assert!(
        exit_timeout > grace,
        "ExitTimeOut {exit_timeout} <= grace {grace}"
    );
}

/// kubelet gives an `fsGroup` volume a group-writable, setgid root (mode 2775), which the
/// file store refuses as a state dir (anyone in the group could swap `secrets.json`). The
/// ConfigMap therefore points below the mount, at a directory tiktwitch creates 0700.
#[cfg(unix)]
#[tokio::test]
async fn the_kubernetes_state_dir_is_usable_on_an_fs_group_volume() {
    use std::os::unix::fs::PermissionsExt;
    use tiktwitch::secret::{FileStore, FileStoreMode, Secret, SecretStore};

    let statefulset = read("deploy/kubernetes/statefulset.yaml");
    assert!(statefulset.contains("fsGroup:"), "the test models fsGroup");
    let mount = statefulset
        .lines()
        .find(|line| line.contains("name: state, mountPath:"))
        .and_then(|line| line.split("mountPath: ").nth(1))
        .map(|rest| rest.trim_end_matches([' ', '}']).trim().to_string())
        .expect("the state volume's mountPath");

    let loaded = load_configmap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = loaded.config.state_dir.clone().expect("state_dir is set");
    let below = state_dir
        .strip_prefix(&mount)
        .unwrap_or_else(|_| panic!("{} is not on the volume {mount}", state_dir.display()));
    assert!(
        below.components().count() > 0,
        "state_dir is the volume's root, which fsGroup makes group-writable"
    );

    // The volume as kubelet prepares it, and the store opened where the ConfigMap says.
    let volume = dir.path().join("volume");
    std::fs::create_dir(&volume).unwrap();
    std::fs::set_permissions(&volume, std::fs::Permissions::from_mode(0o2775)).unwrap();
    assert!(
        FileStore::open(&volume, FileStoreMode::Exclusive)
            .await
            .is_err(),
        "the store accepts a group-writable directory: this test no longer proves anything"
    );
    let store = FileStore::open(&volume.join(below), FileStoreMode::Exclusive)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .set("twitch_token", &Secret::new("sentinel".to_string()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}
