//! The push socket URL: `push_server` from the first fetch result, then its `route_params`,
//! then the web player's own parameters, then the extra `version_code` TikTok's production
//! servers expect. No host is hard-coded: the fetch result names it.

use url::Url;
use url::form_urlencoded::Serializer;

use super::decode::Batch;
use super::error::SessionError;
use super::preset::DevicePreset;

/// The `version_code` the player puts in the query.
const VERSION_CODE: &str = "180800";
/// The second `version_code` appended at the end, as the peers do on production.
const APPENDED_VERSION_CODE: &str = "270000";

/// Builds the WebSocket URL for `room_id` from the signer's first fetch result.
pub fn build_socket_url(
    first: &Batch,
    room_id: u64,
    preset: &DevicePreset,
    heartbeat_ms: u64,
    last_rtt_ms: u32,
) -> Result<String, SessionError> {
    let base = first.push_server.trim();
    if base.is_empty() {
        return Err(SessionError::Url(
            "the fetch result has no push_server".into(),
        ));
    }
    let parsed = Url::parse(base).map_err(|e| SessionError::Url(format!("{base:?}: {e}")))?;
    if !matches!(parsed.scheme(), "ws" | "wss") {
        return Err(SessionError::Url(format!(
            "push_server {base:?} is not a ws:// or wss:// URL"
        )));
    }
    let mut query = Serializer::new(String::new());
    for (key, value) in &first.route_params {
        if !value.is_empty() {
            query.append_pair(key, value);
        }
    }
    let room = room_id.to_string();
    let heartbeat = heartbeat_ms.to_string();
    let rtt = last_rtt_ms.to_string();
    let screen_width = preset.screen_width.to_string();
    let screen_height = preset.screen_height.to_string();
    let client_params: [(&str, &str); 30] = [
        ("aid", "1988"),
        ("app_language", preset.app_language),
        ("app_name", "tiktok_web"),
        ("browser_platform", preset.browser_platform),
        ("browser_language", preset.browser_language),
        ("browser_name", preset.browser_name),
        ("browser_version", preset.browser_version()),
        ("browser_online", "true"),
        ("cookie_enabled", "true"),
        ("tz_name", preset.tz_name),
        ("device_platform", "web"),
        ("identity", "audience"),
        ("live_id", "12"),
        ("sup_ws_ds_opt", "1"),
        ("update_version_code", "2.0.0"),
        ("version_code", VERSION_CODE),
        ("client_enter", "1"),
        ("ws_direct", "1"),
        ("did_rule", "3"),
        ("webcast_language", preset.app_language),
        ("screen_height", &screen_height),
        ("screen_width", &screen_width),
        ("heartbeat_duration", &heartbeat),
        ("resp_content_type", "protobuf"),
        ("history_comment_count", "6"),
        ("last_rtt", &rtt),
        ("room_id", &room),
        ("compress", "gzip"),
        ("cursor", &first.cursor),
        ("internal_ext", &first.internal_ext),
    ];
    for (key, value) in client_params {
        // A key the route params already carry keeps the server's value.
        if !first
            .route_params
            .iter()
            .any(|(k, v)| k == key && !v.is_empty())
        {
            query.append_pair(key, value);
        }
    }
    query.append_pair("version_code", APPENDED_VERSION_CODE);
    let separator = if parsed.query().is_some() { '&' } else { '?' };
    Ok(format!("{base}{separator}{}", query.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::tiktok::preset::PRESETS;

    fn batch(push_server: &str) -> Batch {
        Batch {
            cursor: "t-1_r-1".into(),
            internal_ext: "fetch_time:1|seq:1".into(),
            push_server: push_server.into(),
            route_params: vec![("wrss".into(), "abc".into()), ("imprp".into(), "".into())],
            ..Batch::default()
        }
    }

    #[test]
    fn url_has_route_params_client_params_and_two_version_codes() {
        let url = build_socket_url(
            &batch("wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/"),
            7_300_000_000_000_000_000,
            &PRESETS[0],
            10_000,
            150,
        )
        .unwrap();
        assert!(url.starts_with(
            "wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/?wrss=abc&aid=1988"
        ));
        let parsed = Url::parse(&url).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let get = |k: &str| -> Vec<&str> {
            pairs
                .iter()
                .filter(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(get("version_code"), ["180800", "270000"]);
        assert_eq!(get("room_id"), ["7300000000000000000"]);
        assert_eq!(get("cursor"), ["t-1_r-1"]);
        assert_eq!(get("internal_ext"), ["fetch_time:1|seq:1"]);
        assert_eq!(
            get("imprp"),
            Vec::<&str>::new(),
            "empty route params are dropped"
        );
        assert_eq!(get("heartbeat_duration"), ["10000"]);
        assert_eq!(pairs.last().unwrap().0, "version_code");
    }

    #[test]
    fn missing_or_odd_push_server_is_an_error() {
        assert!(build_socket_url(&batch(""), 1, &PRESETS[0], 10_000, 100).is_err());
        assert!(build_socket_url(&batch("https://x/"), 1, &PRESETS[0], 10_000, 100).is_err());
    }
}
