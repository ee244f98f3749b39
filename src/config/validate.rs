//! Checks serde cannot make: required values, names Twitch or TikTok would refuse, URLs,
//! proxy schemes, zero thresholds. Each returns every problem, never just the first.
//! The pipeline sections' ranges are checked per bridge ([`super::bridge_config::check_ranges`]);
//! compiling their templates and patterns is the pipeline's own check, which the loader is
//! handed ([`super::PipelineCheck`]).

use std::net::SocketAddr;

use super::Problem;
use super::identifiers::{check_secret_name, normalize_tiktok_username, normalize_twitch_login};
use super::schema::{Config, TiktokConfig, TwitchConfig, redact_url};

/// The sections checked per bridge, as a [`super::PipelineConfig`] (for the global config
/// and for each bridge's overrides of them), not here.
pub const PIPELINE_SECTIONS: &[&str] = &["routes", "filters", "coalesce"];

/// Every problem of the non-pipeline sections.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let implicit = config.bridge.is_empty();
    tiktok(&config.tiktok, implicit, &mut problems);
    twitch(&config.twitch, implicit, &mut problems);
    bridges(config, &mut problems);
    if config.http.bind.parse::<SocketAddr>().is_err() {
        problems.push(
            Problem::new(
                "http.bind",
                format!("`{}` is not an `ip:port` address", config.http.bind),
            )
            .with_hint("e.g. \"127.0.0.1:9464\" (or \"0.0.0.0:9464\" in a container)"),
        );
    }
    let bridge_names: Vec<String> = if implicit {
        vec!["default".into()]
    } else {
        config.bridge.iter().map(|b| b.name.clone()).collect()
    };
    super::feed::validate(
        &config.http,
        &config.feed,
        &config.api,
        &config.webhook,
        &bridge_names,
        &mut problems,
    );
    super::pricing::validate(&config.pricing, &mut problems);
    super::twitch_stream::validate(&config.twitch_stream, &mut problems);
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log.filter) {
        problems.push(
            Problem::new("log.filter", format!("not a log filter: {e}"))
                .with_hint("e.g. \"info\" or \"info,tiktwitch::sink=debug\""),
        );
    }
    // Every numeric key against its range; the pipeline's sections are checked per bridge,
    // which also sees each bridge's overrides.
    super::ranges::check(config, "", PIPELINE_SECTIONS, &mut problems);
    problems
}

pub(crate) fn tiktok(t: &TiktokConfig, required: bool, problems: &mut Vec<Problem>) {
    if t.username.trim().is_empty() {
        if required {
            problems.push(
                Problem::new(
                    "tiktok.username",
                    "missing: whose TikTok live should be mirrored?",
                )
                .with_hint("e.g. username = \"@creator\" (or add [[bridge]] entries)"),
            );
        }
    } else if let Err(e) = normalize_tiktok_username(&t.username) {
        problems.push(Problem::new("tiktok.username", e));
    }
    for (key, value) in [
        ("web_base_url", &t.web_base_url),
        ("webcast_base_url", &t.webcast_base_url),
        ("signer_base_url", &t.signer_base_url),
    ] {
        check_url(
            &format!("tiktok.{key}"),
            value,
            &["http", "https"],
            problems,
        );
    }
    if let Some(proxy) = &t.proxy {
        check_url(
            "tiktok.proxy",
            proxy,
            &["http", "socks5", "socks5h"],
            problems,
        );
    }
    check_secret("tiktok.signer_api_key", &t.signer_api_key, problems);
    if let Some(name) = &t.session_id {
        check_secret("tiktok.session_id", name, problems);
    }
}

fn twitch(t: &TwitchConfig, required: bool, problems: &mut Vec<Problem>) {
    if required && t.channels.is_empty() {
        problems.push(
            Problem::new(
                "twitch.channels",
                "missing: which Twitch channels get the lines?",
            )
            .with_hint("e.g. channels = [\"mychannel\"]"),
        );
    }
    check_channels("twitch.channels", &t.channels, problems);
    if t.bot_login.trim().is_empty() {
        problems.push(
            Problem::new("twitch.bot_login", "missing: the Twitch account that posts")
                .with_hint("the bot's login name, e.g. bot_login = \"mybot\""),
        );
    } else if let Err(e) = normalize_twitch_login(&t.bot_login) {
        problems.push(Problem::new("twitch.bot_login", e));
    }
    let server_ok = t
        .server
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !server_ok {
        problems.push(
            Problem::new(
                "twitch.server",
                format!("`{}` is not `host:port`", t.server),
            )
            .with_hint(format!(
                "the default is \"{}\"",
                crate::limits::TWITCH_IRC_SERVER
            )),
        );
    }
    if t.client_id.trim().is_empty() {
        problems.push(
            Problem::new(
                "twitch.client_id",
                "missing: the Twitch application's client id",
            )
            .with_hint("register an application at https://dev.twitch.tv/console/apps"),
        );
    }
    if let Some(name) = &t.client_secret {
        check_secret("twitch.client_secret", name, problems);
    }
    check_secret("twitch.token", &t.token, problems);
    check_url(
        "twitch.oauth_base_url",
        &t.oauth_base_url,
        &["http", "https"],
        problems,
    );
    check_url(
        "twitch.helix_base_url",
        &t.helix_base_url,
        &["http", "https"],
        problems,
    );
    t.commands.check(problems);
    if t.sink == super::schema::SinkKind::Helix
        && t.helix_token == super::schema::HelixToken::App
        && t.client_secret.is_none()
    {
        problems.push(
            Problem::new(
                "twitch.client_secret",
                "missing: helix_token = \"app\" gets an app access token with the client-credentials grant, which needs the application's client secret",
            )
            .with_hint("store it (`tiktwitch secret set twitch-client-secret`) and set client_secret = \"twitch-client-secret\", or use helix_token = \"user\""),
        );
    }
}

fn bridges(config: &Config, problems: &mut Vec<Problem>) {
    let mut seen = std::collections::HashSet::new();
    for (i, entry) in config.bridge.iter().enumerate() {
        let at = |key: &str| format!("bridge[{i}].{key}");
        if entry.name.trim().is_empty() {
            problems.push(Problem::new(
                at("name"),
                "missing: every bridge needs a name",
            ));
        } else if !seen.insert(entry.name.clone()) {
            problems.push(Problem::new(
                at("name"),
                format!("`{}` names two bridges", entry.name),
            ));
        }
        if entry.tiktok_username.trim().is_empty() {
            if config.tiktok.username.trim().is_empty() {
                problems.push(Problem::new(
                    at("tiktok_username"),
                    "missing, and there is no tiktok.username to inherit",
                ));
            }
        } else if let Err(e) = normalize_tiktok_username(&entry.tiktok_username) {
            problems.push(Problem::new(at("tiktok_username"), e));
        }
        if entry.twitch_channels.is_empty() && config.twitch.channels.is_empty() {
            problems.push(Problem::new(
                at("twitch_channels"),
                "missing, and there is no twitch.channels to inherit",
            ));
        }
        check_channels(&at("twitch_channels"), &entry.twitch_channels, problems);
        // A bridge's own pause_keep_secs takes the range of twitch.pause_keep_secs.
        if let (Some(secs), Some(range)) = (
            entry.pause_keep_secs,
            super::ranges::range_of("twitch.pause_keep_secs"),
        ) && super::ranges::check_number("twitch.pause_keep_secs", &secs.into()).is_some()
        {
            problems.push(super::ranges::out_of_range(
                &at("pause_keep_secs"),
                &secs.to_string(),
                range,
            ));
        }
        if let Some(template) = &entry.twitch_live_announcement {
            super::twitch_stream::check_announcement(
                &at("twitch_live_announcement"),
                template,
                problems,
            );
        }
    }
}

fn check_channels(path: &str, channels: &[String], problems: &mut Vec<Problem>) {
    for (i, channel) in channels.iter().enumerate() {
        if let Err(e) = normalize_twitch_login(channel) {
            problems.push(Problem::new(format!("{path}[{i}]"), e));
        }
    }
}

fn check_secret(path: &str, name: &str, problems: &mut Vec<Problem>) {
    if let Err(e) = check_secret_name(name) {
        problems.push(Problem::new(path, e));
    }
}

pub(crate) fn check_url(path: &str, value: &str, schemes: &[&str], problems: &mut Vec<Problem>) {
    // A proxy URL may carry a password: never echo it.
    let is_proxy = path.ends_with("proxy");
    let shown = if is_proxy {
        redact_url(value)
    } else {
        value.to_owned()
    };
    match url::Url::parse(value) {
        Err(e) if is_proxy => problems.push(Problem::new(path, format!("not a URL: {e}"))),
        Err(e) => problems.push(Problem::new(path, format!("`{shown}` is not a URL: {e}"))),
        Ok(url) if !schemes.contains(&url.scheme()) => problems.push(
            Problem::new(path, format!("scheme `{}` is not supported", url.scheme()))
                .with_hint(format!("use one of: {}", schemes.join(", "))),
        ),
        Ok(url) if url.host_str().is_none_or(str::is_empty) => {
            problems.push(Problem::new(path, format!("`{shown}` has no host")));
        }
        Ok(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Config {
        let mut c = Config::default();
        c.tiktok.username = "@creator".into();
        c.twitch.channels = vec!["mychannel".into()];
        c.twitch.bot_login = "mybot".into();
        c.twitch.client_id = "abc123".into();
        c
    }

    #[test]
    fn a_complete_config_has_no_problems() {
        assert_eq!(validate(&valid()), vec![]);
    }

    #[test]
    fn every_problem_is_listed() {
        let mut c = valid();
        c.tiktok.proxy = Some("ftp://proxy:21".into());
        c.tiktok.heartbeat_secs = 0;
        c.twitch.channels = vec!["ok".into(), "not-ok".into()];
        c.twitch.token = "oauth:abcdef".into();
        c.twitch.oauth_base_url = "not a url".into();
        c.http.bind = "localhost".into();
        let paths: Vec<String> = validate(&c).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "tiktok.proxy",
                "twitch.channels[1]",
                "twitch.token",
                "twitch.oauth_base_url",
                "http.bind",
                "tiktok.heartbeat_secs",
            ]
        );
    }

    #[test]
    fn pause_keep_is_bounded_globally_and_per_bridge() {
        use crate::config::schema::PAUSE_KEEP_MAX_SECS;
        let mut c = valid();
        c.twitch.pause_keep_secs = PAUSE_KEEP_MAX_SECS;
        assert!(validate(&c).is_empty());
        c.twitch.pause_keep_secs = PAUSE_KEEP_MAX_SECS + 1;
        c.bridge = vec![crate::config::schema::BridgeEntry {
            name: "a".into(),
            pause_keep_secs: Some(100_000),
            ..Default::default()
        }];
        let mut paths: Vec<String> = validate(&c).into_iter().map(|p| p.path).collect();
        paths.sort();
        assert_eq!(
            paths,
            ["bridge[0].pause_keep_secs", "twitch.pause_keep_secs"]
        );
    }

    #[test]
    fn bridges_inherit_or_must_say() {
        let mut c = valid();
        c.tiktok.username.clear();
        c.twitch.channels.clear();
        c.bridge = vec![Default::default(), Default::default()];
        c.bridge[0].name = "a".into();
        c.bridge[1].name = "a".into();
        c.bridge[1].tiktok_username = "@xy".into();
        c.bridge[1].twitch_channels = vec!["chan".into()];
        let paths: Vec<String> = validate(&c).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "bridge[0].tiktok_username",
                "bridge[0].twitch_channels",
                "bridge[1].name"
            ]
        );
    }
}
