//! The TikTok source's unsigned room lookup and its signer step against the fake: every
//! signer and lookup fault, the shared budget, and "never sign to poll".

mod support;
mod tiktok_support;

use std::sync::Arc;
use std::time::Duration;

use tiktok_support::*;
use tiktwitch::source::tiktok::room::{LookupPath, RoomLookup};
use tiktwitch::source::tiktok::{
    EulerSigner, LookupError, SignRequest, Signer, SignerBudget, SignerError, SourceError, Status,
    TikTokSource,
};
use tiktwitch::standin::tiktok::frames::{control_message, single};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, LookupMode, SignerFault, Step};

const SECOND: Duration = Duration::from_secs(1);

fn end_script(fake: &FakeTikTok, msg_id: u64) {
    fake.push_script(vec![Step::Frame(single(
        msg_id,
        control_message(msg_id, fake.room_id(), 3),
    ))]);
}

fn reconnect_delays(items: &[tiktwitch::source::tiktok::SourceItem]) -> Vec<(Duration, String)> {
    statuses(items)
        .iter()
        .filter_map(|s| match s {
            Status::Reconnecting { delay, reason, .. } => Some((*delay, reason.clone())),
            _ => None,
        })
        .collect()
}

async fn plain_fake() -> FakeTikTok {
    FakeTikTok::start(FakeTikTokConfig::default())
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_for_the_signers_reset_then_connects() {
    let fake = plain_fake().await;
    fake.fail_signer(SignerFault::RateLimited {
        retry_after_secs: 120,
        label: "rate_limit_account_minute".into(),
    });
    end_script(&fake, 1);
    let source = TikTokSource::with_euler(settings(&fake), SignerBudget::new(0)).unwrap();
    let started = tokio::time::Instant::now();
    let (result, items) = run_to_end(&source).await;
    result.unwrap();
    let delays = reconnect_delays(&items);
    assert_eq!(delays.len(), 1);
    assert_eq!(delays[0].0, 120 * SECOND);
    assert!(
        delays[0].1.contains("rate_limit_account_minute"),
        "{delays:?}"
    );
    assert!(started.elapsed() >= 120 * SECOND);
    let stats = source.snapshot();
    assert_eq!((stats.signer_calls, stats.signer_rate_limited), (2, 1));
    assert_eq!(fake.report().signer_calls, 2);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_429_blocks_every_source_sharing_the_budget() {
    let fake = plain_fake().await;
    let budget = SignerBudget::new(0);
    fake.fail_signer(SignerFault::RateLimited {
        retry_after_secs: 300,
        label: "rate_limit_account_day".into(),
    });
    end_script(&fake, 1);
    let first = TikTokSource::with_euler(settings(&fake), budget.clone()).unwrap();
    let (_, items) = run_until(&first, |items| !reconnect_delays(items).is_empty()).await;
    assert_eq!(reconnect_delays(&items)[0].0, 300 * SECOND);
    // A second bridge on the same budget must not call the signer before the reset.
    let wait = budget.try_acquire().unwrap_err();
    assert!(wait > 299 * SECOND, "{wait:?}");
    let second = TikTokSource::with_euler(settings(&fake), budget.clone()).unwrap();
    let started = tokio::time::Instant::now();
    let (result, _) = run_to_end(&second).await;
    result.unwrap();
    assert!(started.elapsed() >= 299 * SECOND);
    assert_eq!(
        fake.report().signer_calls,
        2,
        "one 429, then one call after the reset"
    );
}

#[tokio::test(start_paused = true)]
async fn a_5xx_and_an_empty_body_are_retried_with_growing_backoff() {
    let fake = plain_fake().await;
    fake.fail_signer(SignerFault::ServerError);
    fake.fail_signer(SignerFault::EmptyBody);
    fake.fail_signer(SignerFault::ServerError);
    end_script(&fake, 1);
    let source = TikTokSource::with_euler(settings(&fake), SignerBudget::new(0)).unwrap();
    let (result, items) = run_to_end(&source).await;
    result.unwrap();
    let delays = reconnect_delays(&items);
    assert_eq!(delays.len(), 3, "{delays:?}");
    assert!(delays[0].1.contains("HTTP 500") && delays[0].1.contains("Empty response"));
    assert!(delays[1].1.contains("empty fetch result"));
    assert!(delays[0].0 <= SECOND && delays[1].0 <= 2 * SECOND && delays[2].0 >= 2 * SECOND);
    assert_eq!(source.snapshot().signer_failures, 3);
    assert!(status_names(&items).contains(&"live"));
}

#[tokio::test(start_paused = true)]
async fn a_401_or_402_is_a_configuration_error_without_retries() {
    for (fault, status) in [
        (SignerFault::Unauthorized, 401),
        (SignerFault::PaymentRequired, 402),
    ] {
        let fake = plain_fake().await;
        fake.fail_signer(fault);
        let source = TikTokSource::with_euler(settings(&fake), SignerBudget::new(0)).unwrap();
        let (result, items) = run_to_end(&source).await;
        let err = result.unwrap_err();
        assert!(
            matches!(&err, SourceError::Signer(SignerError::Config { status: s, .. }) if *s == status),
            "{err:?}"
        );
        assert!(err.to_string().contains("API key"), "{err}");
        assert_eq!(fake.report().signer_calls, 1);
        assert_eq!(status_names(&items).last(), Some(&"failed"));
    }
}

#[tokio::test(start_paused = true)]
async fn a_wrong_api_key_is_refused_and_never_logged() {
    let fake = plain_fake().await;
    let mut s = settings(&fake);
    s.signer_api_key = Some("wrong-secret-key".into());
    let source = TikTokSource::with_euler(s.clone(), SignerBudget::new(0)).unwrap();
    let (result, _) = run_to_end(&source).await;
    let err = result.unwrap_err();
    assert!(matches!(
        err,
        SourceError::Signer(SignerError::Config { status: 401, .. })
    ));
    assert!(!err.to_string().contains("wrong-secret-key"));
    assert!(!format!("{s:?}").contains("wrong-secret-key"));
}

#[tokio::test(start_paused = true)]
async fn an_offline_creator_is_polled_unsigned_until_live() {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        live: false,
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    end_script(&fake, 1);
    let mut s = settings(&fake);
    s.wait_for_live = true;
    let source = TikTokSource::with_euler(s, SignerBudget::new(0)).unwrap();
    let fake_ref = &fake;
    let go_live = async {
        tokio::time::sleep(10 * 60 * SECOND).await;
        fake_ref.go_live(fake_ref.room_id());
    };
    let ((result, items), ()) = tokio::join!(
        run_until(&source, |items| status_names(items).contains(&"ended")),
        go_live
    );
    result.unwrap();
    let waiting = status_names(&items)
        .iter()
        .filter(|n| **n == "waiting_for_live")
        .count();
    assert!(
        (19..=21).contains(&waiting),
        "polled every 30 s for 10 min: {waiting}"
    );
    let report = fake.report();
    assert_eq!(report.signer_calls, 1, "the signer is used only once live");
    assert!(report.api_lookups >= 20);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn not_live_without_waiting_names_the_time_it_was_checked() {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        live: false,
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let source = TikTokSource::with_euler(settings(&fake), SignerBudget::new(0)).unwrap();
    let (result, _) = run_to_end(&source).await;
    let err = result.unwrap_err();
    assert!(matches!(err, SourceError::NotLive { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("@fakecreator is not live (checked 20"),
        "{text}"
    );
    assert!(text.ends_with("Z)"), "{text}");
    assert_eq!(fake.report().signer_calls, 0);
}

#[tokio::test(start_paused = true)]
async fn unknown_user_age_restricted_and_captcha_are_distinct_errors() {
    for mode in [
        LookupMode::NotFound,
        LookupMode::AgeRestricted,
        LookupMode::Captcha,
    ] {
        let fake = plain_fake().await;
        fake.set_lookup(mode);
        let mut s = settings(&fake);
        s.wait_for_live = true;
        let source = TikTokSource::with_euler(s, SignerBudget::new(0)).unwrap();
        let (result, _) = run_to_end(&source).await;
        let err = result.unwrap_err();
        let ok = match mode {
            LookupMode::NotFound => {
                matches!(err, SourceError::Lookup(LookupError::UserNotFound { .. }))
            }
            LookupMode::AgeRestricted => {
                matches!(err, SourceError::Lookup(LookupError::AgeRestricted { .. }))
            }
            _ => matches!(err, SourceError::Lookup(LookupError::Blocked { .. })),
        };
        assert!(ok, "{mode:?}: {err:?}");
        assert_eq!(fake.report().signer_calls, 0, "{mode:?}");
        assert_eq!(fake.report().api_lookups, 1, "{mode:?}: no retry loop");
    }
}

#[tokio::test(start_paused = true)]
async fn a_broken_room_api_falls_back_to_the_live_pages_sigi_state() {
    let fake = plain_fake().await;
    fake.set_lookup(LookupMode::ApiDown);
    let http = reqwest::Client::new();
    let lookup = RoomLookup::new(
        http,
        &fake.base_url(),
        tiktwitch::source::tiktok::preset::pick(None),
    );
    let room = lookup.resolve("fakecreator").await.unwrap();
    assert_eq!(
        (room.room_id, room.via, room.viewers),
        (fake.room_id(), LookupPath::Html, Some(1234))
    );
    assert!(room.is_live());
    let report = fake.report();
    assert_eq!((report.api_lookups, report.page_lookups), (1, 1));
    // And the whole source connects through it.
    end_script(&fake, 1);
    let source = TikTokSource::with_euler(settings(&fake), SignerBudget::new(0)).unwrap();
    let (result, items) = run_to_end(&source).await;
    result.unwrap();
    assert!(status_names(&items).contains(&"live"));
}

#[tokio::test(start_paused = true)]
async fn the_signer_contract_returns_the_fetch_result_and_cookies() {
    let fake = plain_fake().await;
    let signer = EulerSigner::new(
        reqwest::Client::new(),
        &fake.base_url(),
        Some("fake-euler-key".into()),
        "tiktwitch-test",
    );
    let signed = signer
        .fetch(&SignRequest {
            room_id: fake.room_id(),
            user_agent: "Mozilla/5.0 test".into(),
            session_cookie: None,
        })
        .await
        .unwrap();
    assert_eq!(signed.room_id, Some(fake.room_id()));
    assert_eq!(
        signed.cookies,
        [
            ("ttwid".to_string(), "1%7Cfake-ttwid".to_string()),
            ("tt_csrf_token".to_string(), "fake-csrf".to_string())
        ]
    );
    let batch = tiktwitch::source::tiktok::decode::decode_fetch_result(signed.body).unwrap();
    assert!(batch.push_server.starts_with("ws://127.0.0.1:"));
    assert_eq!(fake.report().signer_user_agents, ["Mozilla/5.0 test"]);
    let _: Arc<dyn Signer> = Arc::new(signer);
}

#[tokio::test(start_paused = true)]
async fn a_session_id_rides_on_the_handshake_and_only_reaches_the_signer_on_opt_in() {
    for opt_in in [false, true] {
        let fake = plain_fake().await;
        end_script(&fake, 1);
        let mut s = settings(&fake);
        s.session_id = Some("sess-123".into());
        s.send_session_to_signer = opt_in;
        let source = TikTokSource::with_euler(s, SignerBudget::new(0)).unwrap();
        let (result, _) = run_to_end(&source).await;
        result.unwrap();
        let report = fake.report();
        let conn = &report.connections[0];
        assert!(
            conn.cookie.contains("sessionid=sess-123"),
            "{}",
            conn.cookie
        );
        assert!(
            conn.cookie.contains("ttwid=1%7Cfake-ttwid"),
            "{}",
            conn.cookie
        );
        let to_signer = &report.signer_cookie_headers[0];
        assert_eq!(
            to_signer.contains("sessionid=sess-123"),
            opt_in,
            "{to_signer:?}"
        );
        assert_eq!(fake.violations(), Vec::<String>::new());
    }
}
