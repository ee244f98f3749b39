//! Device presets: a user agent with the browser, OS, screen and time zone parameters that
//! belong to it. TikTok silently rejects clients whose parameters disagree, so one preset
//! is used for everything one connection sends (signer request, socket URL, handshake).

use rand::Rng;

/// One consistent browser identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevicePreset {
    /// A short name for settings (`chrome-windows` ...).
    pub name: &'static str,
    /// The `User-Agent`, sent to the signer and in the socket handshake.
    pub user_agent: &'static str,
    /// `browser_platform`, e.g. `Win32`.
    pub browser_platform: &'static str,
    /// `browser_name` (always `Mozilla` in real clients).
    pub browser_name: &'static str,
    /// `browser_language`, e.g. `en-US`.
    pub browser_language: &'static str,
    /// `app_language` / `webcast_language`, e.g. `en`.
    pub app_language: &'static str,
    /// `screen_width`.
    pub screen_width: u32,
    /// `screen_height`.
    pub screen_height: u32,
    /// `tz_name`, e.g. `America/New_York`.
    pub tz_name: &'static str,
}

impl DevicePreset {
    /// `browser_version`: the user agent without its `Mozilla/` prefix.
    pub fn browser_version(&self) -> &'static str {
        self.user_agent
            .strip_prefix("Mozilla/")
            .unwrap_or(self.user_agent)
    }
}

/// The presets to choose from.
pub const PRESETS: &[DevicePreset] = &[
    DevicePreset {
        name: "chrome-windows",
        user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36",
        browser_platform: "Win32",
        browser_name: "Mozilla",
        browser_language: "en-US",
        app_language: "en",
        screen_width: 1920,
        screen_height: 1080,
        tz_name: "America/New_York",
    },
    DevicePreset {
        name: "chrome-mac",
        user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36",
        browser_platform: "MacIntel",
        browser_name: "Mozilla",
        browser_language: "en-US",
        app_language: "en",
        screen_width: 1440,
        screen_height: 900,
        tz_name: "America/Los_Angeles",
    },
    DevicePreset {
        name: "edge-windows",
        user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0",
        browser_platform: "Win32",
        browser_name: "Mozilla",
        browser_language: "en-GB",
        app_language: "en",
        screen_width: 2560,
        screen_height: 1440,
        tz_name: "Europe/London",
    },
];

/// The preset named `name`, or a random one when `name` is `None` or unknown.
pub fn pick(name: Option<&str>) -> &'static DevicePreset {
    if let Some(found) = name.and_then(|n| PRESETS.iter().find(|p| p.name == n)) {
        return found;
    }
    let i = rand::rng().random_range(0..PRESETS.len());
    &PRESETS[i]
}

/// A random 19-digit `device_id`, like the web player's.
pub fn random_device_id() -> u64 {
    rand::rng().random_range(7_000_000_000_000_000_000..7_999_999_999_999_999_999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_consistent() {
        for p in PRESETS {
            assert!(p.user_agent.starts_with("Mozilla/5.0"));
            assert!(p.browser_version().starts_with("5.0 ("), "{}", p.name);
        }
        assert_eq!(pick(Some("chrome-mac")).name, "chrome-mac");
        assert!(PRESETS.contains(pick(Some("no-such"))));
        assert_eq!(random_device_id().to_string().len(), 19);
    }
}
