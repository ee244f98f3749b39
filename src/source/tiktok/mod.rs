//! The TikTok LIVE source: from a username to a live, resumable stream of events.
//!
//! - [`room`]: unsigned room lookup (`@user` -> room id + live status + [`profile`]).
//! - [`gifts`]: the room's gift catalogue (names, diamond values, images), optional.
//! - [`signer`]: the signed first fetch behind the [`signer::Signer`] trait (Euler Stream's
//!   contract by default), with a shared [`signer::SignerBudget`].
//! - [`socket_url`], [`push_session`], [`client_frames`]: the push WebSocket and the client's duties.
//! - [`lifecycle`]: the lifecycle ([`TikTokSource`]): wait for live, sign, connect, relay,
//!   reconnect.
//! - [`decode`], [`capture`]: frames to events; capture files.

pub mod capture;
pub mod decode;

runtime! {
    pub mod backoff;
    pub mod lifecycle;
    pub mod error;
    pub mod gifts;
    pub mod transport;
    pub mod preset;
    pub mod profile;
    pub mod proxy;
    pub mod room;
    pub mod push_session;
    pub mod tiktok_settings;
    pub mod signer;
    pub mod socket_url;
    pub mod source_stats;
    pub mod status;
    pub mod client_frames;
    pub mod watch;

    pub use lifecycle::{TikTokSource, run};
    pub use error::{LookupError, SessionError, SignerError, SourceError};
    pub use gifts::{CatalogueGift, GiftCatalogue};
    pub use profile::Profile;
    pub use tiktok_settings::TikTokSettings;
    pub use signer::{EulerSigner, SignRequest, SignedFetch, Signer, SignerBudget};
    pub use source_stats::{SourceStats, SourceStatsSnapshot};
    pub use status::{SourceItem, Status};
}
