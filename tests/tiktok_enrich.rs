//! Enrichment from TikTok, over real HTTP against the fake TikTok on 127.0.0.1: the room's
//! gift catalogue fills gifts that messages leave bare (source level and through the whole
//! daemon to Twitch, priced by the `money` filter), a catalogue that fails (500, garbage,
//! oversized, stalled) never stops the live and is counted, the creator's profile reaches
//! `GET /api/status`, and bad `[pricing]` is a config error with key paths. Paused time.

mod support;
mod tiktok_support;

use std::time::Duration;

use serde_json::Value;
use support::daemon::wait_until;
use tiktok_support::*;
use tiktwitch::config;
use tiktwitch::event::{Event, EventKind, Gift};
use tiktwitch::source::tiktok::gifts::STATIC_GIFT_PRICES;
use tiktwitch::source::tiktok::{SignerBudget, SourceItem, TikTokSource};
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::frames::{
    GiftSpec, chat_message, control_message, gift_message, single,
};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, GiftListMode, Step};

const SECOND: Duration = Duration::from_secs(1);
/// In the stand-in's catalogue (1000 diamonds), not in the built-in price table.
const GALAXY: u64 = 11046;

fn gift_frame(log_id: u64, room: u64, spec: GiftSpec<'_>) -> Step {
    Step::Frame(single(log_id, gift_message(log_id, room, "giver", spec)))
}

fn bare(gift_id: u64, repeat_count: i32, repeat_end: bool, group_id: u64) -> GiftSpec<'static> {
    GiftSpec {
        gift_id,
        repeat_count,
        repeat_end,
        group_id,
        details: None,
    }
}

fn end(log_id: u64, room: u64) -> Step {
    Step::Frame(single(log_id, control_message(log_id, room, 3)))
}

/// `(gift, complete)` of every gift event, in order.
fn gifts(items: &[SourceItem]) -> Vec<(Gift, bool)> {
    events(items)
        .into_iter()
        .filter_map(|e: &Event| match &e.kind {
            EventKind::Gift { gift, complete, .. } => Some((gift.clone(), *complete)),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn bare_gift_messages_get_the_catalogue_name_value_image_and_streak_rule() {
    let fake = FakeTikTok::start(FakeTikTokConfig::default())
        .await
        .unwrap();
    let room = fake.room_id();
    fake.push_script(vec![
        Step::Pause(SECOND),
        // A Rose streak sent without the gift struct: a tick, then the end.
        gift_frame(11, room, bare(5655, 2, false, 77)),
        gift_frame(12, room, bare(5655, 3, true, 77)),
        // A Lion (type 2, never streaks) without details.
        gift_frame(13, room, bare(6369, 1, false, 78)),
        // A message with its own details keeps them.
        gift_frame(
            14,
            room,
            GiftSpec {
                details: Some(("Rosa", 10, 1)),
                ..bare(5655, 1, true, 79)
            },
        ),
        // A gift the catalogue does not know stays as sent.
        gift_frame(15, room, bare(999, 1, false, 80)),
        end(16, room),
    ]);
    let source = TikTokSource::with_euler(settings(&fake), SignerBudget::new(0)).unwrap();
    let (result, items) = run_to_end(&source).await;
    result.unwrap();

    let image = |id: u64| Some(format!("{}/gift/{id}.webp", fake.base_url()));
    let rose = |image| Gift {
        id: 5655,
        name: "Rose".into(),
        diamonds: 1,
        streakable: true,
        image,
    };
    assert_eq!(
        gifts(&items),
        [
            (rose(image(5655)), false),
            (rose(image(5655)), true),
            (
                Gift {
                    id: 6369,
                    name: "Lion".into(),
                    diamonds: 29_999,
                    streakable: false,
                    image: image(6369),
                },
                true
            ),
            (
                Gift {
                    id: 5655,
                    name: "Rosa".into(),
                    diamonds: 10,
                    streakable: true,
                    image: image(5655),
                },
                true
            ),
            (
                Gift {
                    id: 999,
                    ..Gift::default()
                },
                true
            ),
        ]
    );
    let stats = source.snapshot();
    assert_eq!(
        (
            stats.gift_catalogues,
            stats.gift_catalogue_failures,
            stats.gifts_enriched
        ),
        (1, 0, 4)
    );
    let report = fake.report();
    assert_eq!(report.gift_list_calls, 1);
    assert!(report.violations.is_empty(), "{:?}", report.violations);

    // The profile came with the room lookup.
    let profile = items
        .iter()
        .find_map(|i| match i {
            SourceItem::Profile(p) => Some((**p).clone()),
            _ => None,
        })
        .expect("a profile after the lookup");
    assert_eq!(profile.unique_id, "fakecreator");
    assert_eq!(profile.nickname, "Fake Creator");
    assert_eq!(
        (profile.followers, profile.following),
        (Some(12_345), Some(67))
    );
    assert_eq!((profile.live, profile.viewers), (true, Some(1234)));
    assert_eq!(profile.room_title.as_deref(), Some("fake live"));
}

#[tokio::test(start_paused = true)]
async fn a_failing_catalogue_never_stops_the_live_and_is_counted() {
    for mode in [
        GiftListMode::ServerError,
        GiftListMode::Garbage,
        GiftListMode::Oversized,
        GiftListMode::Stall,
    ] {
        let fake = FakeTikTok::start(FakeTikTokConfig::default())
            .await
            .unwrap();
        fake.set_gift_list(mode);
        let room = fake.room_id();
        fake.push_script(vec![
            Step::Pause(SECOND),
            Step::Frame(single(21, chat_message(21, room, "fan", "hello"))),
            gift_frame(22, room, bare(6369, 1, false, 1)),
            // Past the request timeout (20 s), so a stalled fetch has given up.
            Step::Pause(30 * SECOND),
            Step::Frame(single(23, chat_message(23, room, "fan", "still here"))),
            end(24, room),
        ]);
        let source = TikTokSource::with_euler(settings(&fake), SignerBudget::new(0)).unwrap();
        let (result, items) = run_to_end(&source).await;
        result.unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert_eq!(live_ids(&items), [21, 22, 23, 24], "{mode:?}");
        assert_eq!(
            gifts(&items),
            [(
                Gift {
                    id: 6369,
                    ..Gift::default()
                },
                true
            )],
            "{mode:?}: relayed as sent"
        );
        let stats = source.snapshot();
        assert_eq!(
            (stats.gift_catalogues, stats.gift_catalogue_failures),
            (0, 1),
            "{mode:?}"
        );
        assert_eq!(status_names(&items).last(), Some(&"ended"), "{mode:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_catalogue_is_fetched_once_per_room_and_can_be_turned_off() {
    let fake = FakeTikTok::start(FakeTikTokConfig::default())
        .await
        .unwrap();
    let room = fake.room_id();
    // The first connection drops; the source reconnects to the same room.
    fake.push_script(vec![Step::Pause(SECOND), Step::Close]);
    fake.push_script(vec![
        Step::Pause(SECOND),
        gift_frame(31, room, bare(5487, 1, true, 5)),
        gift_frame(33, room, bare(GALAXY, 1, true, 6)),
        end(32, room),
    ]);
    let source = TikTokSource::with_euler(settings(&fake), SignerBudget::new(0)).unwrap();
    let (result, items) = run_to_end(&source).await;
    result.unwrap();
    assert_eq!(fake.report().connections.len(), 2);
    assert_eq!(fake.report().gift_list_calls, 1, "once per room");
    assert_eq!(gifts(&items)[0].0.name, "Finger Heart");
    // A gift the built-in table does not know: its value and image are the catalogue's.
    assert!(!STATIC_GIFT_PRICES.iter().any(|(id, ..)| *id == GALAXY));
    let galaxy = &gifts(&items)[1].0;
    assert_eq!((galaxy.name.as_str(), galaxy.diamonds), ("Galaxy", 1000));
    assert!(
        galaxy
            .image
            .as_deref()
            .is_some_and(|url| url.ends_with(&format!("/gift/{GALAXY}.webp"))),
        "{galaxy:?}"
    );

    let fake = FakeTikTok::start(FakeTikTokConfig::default())
        .await
        .unwrap();
    let room = fake.room_id();
    fake.push_script(vec![
        gift_frame(41, room, bare(GALAXY, 1, true, 5)),
        gift_frame(43, room, bare(5487, 1, true, 7)),
        end(42, room),
    ]);
    let off = tiktwitch::source::tiktok::TikTokSettings {
        gift_catalogue: false,
        ..settings(&fake)
    };
    let source = TikTokSource::with_euler(off, SignerBudget::new(0)).unwrap();
    let (result, items) = run_to_end(&source).await;
    result.unwrap();
    assert_eq!(fake.report().gift_list_calls, 0);
    assert_eq!(gifts(&items)[0].0.name, "", "nothing filled");
    assert_eq!(gifts(&items)[0].0.diamonds, 0);
    // Without a catalogue the built-in table still prices the gifts it knows.
    let heart = &gifts(&items)[1].0;
    assert_eq!((heart.name.as_str(), heart.diamonds), ("Finger Heart", 5));
    assert_eq!(heart.image, None, "the table has no images");
}

#[tokio::test(start_paused = true)]
async fn the_daemon_relays_catalogue_names_with_prices_and_shows_the_profile() {
    const ROOM: u64 = 7_000_000_000_000_000_500;
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        room_id: ROOM,
        api_key: Some("enrich-signer-key".into()),
        followers: 1_234_567,
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    fake.push_script(vec![
        Step::Pause(2 * SECOND),
        gift_frame(51, ROOM, bare(5655, 40, false, 9)),
        gift_frame(52, ROOM, bare(5655, 100, true, 9)),
    ]);
    let side = TwitchSide::start("enrich-client").await.unwrap();
    let twitch = &side.twitch;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = side.config_head()
        + r#"
[http]
enabled = true
bind = "127.0.0.1:0"

[api]
enabled = true

[pricing]
coin_prices = { EUR = 0.01 }

[routes.gift]
template = "{{ user.name }} sent {{ count }}x {{ gift.name }} worth {{ total_diamonds | money }} ({{ total_diamonds | money('EUR') }})"
"# + &fake.bridge_toml("a", "chan_a");
    let daemon = support::daemon::spawn_daemon(
        &path,
        &text,
        &side,
        &[("tiktok-signer-api-key", "enrich-signer-key")],
    )
    .await;
    let running = daemon.running().unwrap();
    let addr = running.http_addr.expect("[http] is enabled");

    wait_until("the gift reached Twitch", || !twitch.delivered().is_empty()).await;
    let delivered: Vec<String> = twitch.delivered().iter().map(|p| p.text.clone()).collect();
    assert_eq!(
        delivered,
        ["GIVER sent 100x Rose worth $1.33 (€1.00)"],
        "one line per streak, named and priced from the catalogue"
    );

    let status: Value = reqwest::get(format!("http://{addr}/api/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let profile = &status["bridges"][0]["profile"];
    assert_eq!(profile["unique_id"], "alice", "{status}");
    assert_eq!(profile["nickname"], "Fake Creator");
    assert_eq!(profile["followers"], 1_234_567);
    assert_eq!(profile["following"], 67);
    assert_eq!(profile["live"], true);
    assert_eq!(profile["status"], "live");
    assert_eq!(profile["room_id"], ROOM.to_string());
    assert_eq!(profile["room_title"], "fake live");
    assert_eq!(profile["viewers"], 1234);
    assert_eq!(profile["via"], "api");
    assert_eq!(
        profile["avatar_url"],
        format!("{}/avatar/alice.webp", fake.base_url())
    );
    assert!(profile["checked_at"].as_str().unwrap().ends_with('Z'));
    let metrics = running.metrics();
    assert!(
        metrics.contains("tiktwitch_tiktok_gift_catalogues_total{bridge=\"a\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tiktwitch_tiktok_gifts_enriched_total{bridge=\"a\"} 2"),
        "{metrics}"
    );
    daemon.stop();
    daemon.join().await.unwrap().unwrap();
}

#[test]
fn bad_prices_and_unpriced_currencies_are_config_errors_with_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        r#"[tiktok]
username = "@someone"

[twitch]
channels = ["chan"]
bot_login = "bot"
client_id = "x"

[pricing]
coin_prices = { USD = -0.5, usd = 0.01, EUR = 0.0 }
currency = "JPY"

[routes.gift]
template = "{{ total_diamonds | money('CHF') }}"
"#,
    )
    .unwrap();
    let error = config::load(Some(&path), tiktwitch::pipeline::Pipeline::check)
        .unwrap_err()
        .to_string();
    for expected in [
        "pricing.coin_prices.USD: -0.5 is out of range: above 0 up to 1_000_000",
        "pricing.coin_prices.EUR: 0 is out of range: above 0 up to 1_000_000",
        "pricing.coin_prices.usd: `usd` is not a known currency code (write it in upper case: USD)",
        "pricing.currency: no coin price for `JPY`",
        "routes.gift.template: fails on a sample event: no coin price for currency \"CHF\"",
    ] {
        assert!(error.contains(expected), "{expected}\n---\n{error}");
    }
}
