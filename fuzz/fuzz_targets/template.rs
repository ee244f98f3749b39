//! Any user template through the pipeline: the input (up to its first NUL) becomes every
//! route's template, the rest the text of a chat message. `Pipeline::new` may refuse the
//! template (that is the point of checking at load), but nothing may panic: not compiling,
//! not rendering every sample event, not the coalescers' ticks and flush.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tiktwitch::config::{RoutesConfig, Slot};
use tiktwitch::event::EventKind;
use tiktwitch::limits::MAX_RENDERED_CHARS;
use tiktwitch::pipeline::samples::sample_event;
use tiktwitch::pipeline::{Pipeline, PipelineConfig};

fn routes(template: &str) -> RoutesConfig {
    let mut r = RoutesConfig::default();
    let t = || template.to_owned();
    r.chat.enabled = true;
    r.chat.template = t();
    r.chat.flood_template = t();
    r.emote.enabled = true;
    r.emote.template = t();
    r.gift.enabled = true;
    r.gift.template = t();
    r.like.enabled = true;
    r.like.summary = true;
    r.like.template = t();
    r.like.summary_template = t();
    r.join.enabled = true;
    r.join.summary = true;
    r.join.template = t();
    r.join.summary_template = t();
    r.follow.enabled = true;
    r.follow.template = t();
    r.share.enabled = true;
    r.share.template = t();
    r.subscribe.enabled = true;
    r.subscribe.template = t();
    r.question.enabled = true;
    r.question.template = t();
    r.envelope.enabled = true;
    r.envelope.template = t();
    r.battle.enabled = true;
    r.battle.template = t();
    r.viewers.enabled = true;
    r.viewers.template = t();
    r.live_paused.enabled = true;
    r.live_paused.template = t();
    r.live_resumed.enabled = true;
    r.live_resumed.template = t();
    r.live_ended.enabled = true;
    r.live_ended.template = t();
    r
}

fuzz_target!(|data: &[u8]| {
    let (template, chat_text) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let template = String::from_utf8_lossy(template);
    let config = PipelineConfig {
        routes: routes(&template),
        streamer: "fuzz.creator".into(),
        ..PipelineConfig::default()
    };
    let Ok(mut pipeline) = Pipeline::new(&config) else {
        return;
    };
    let _ = pipeline.sample_lines();
    let start = Instant::now();
    for (i, slot) in Slot::ALL.iter().enumerate() {
        let Some(mut event) = sample_event(*slot) else {
            continue;
        };
        event.meta.msg_id = i as u64 + 1;
        if let EventKind::Chat { text, .. } = &mut event.kind {
            *text = String::from_utf8_lossy(chat_text).into_owned();
        }
        // Twice: the second is a flood / streak / summary candidate.
        let again = {
            let mut e = event.clone();
            e.meta.msg_id += 1_000;
            e
        };
        for line in pipeline
            .push(event, start)
            .into_iter()
            .chain(pipeline.push(again, start))
        {
            // Rendering is capped (the sink then cuts to Twitch's 500).
            let chars = line.text.chars().count();
            assert!(chars <= MAX_RENDERED_CHARS + 16, "a line of {chars} chars");
        }
    }
    let _ = pipeline.tick(start + Duration::from_secs(3_600));
    let _ = pipeline.flush();
});
