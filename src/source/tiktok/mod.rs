//! The TikTok LIVE source: from a username to a live, resumable stream of events.
//!
//! - [`room`]: unsigned room lookup (`@user` -> room id + live status + [`profile`]).
//! - [`gifts`]: the room's gift catalogue (names, diamond values, images), optional.
//! - [`signer`]: the signed first fetch behind the [`signer::Signer`] trait (Euler Stream's
//!   contract by default), with a shared [`signer::SignerBudget`].
//! - [`socket_url`], [`session`], [`wire`]: the push WebSocket and the client's duties.
//! - [`client`]: the lifecycle ([`TikTokSource`]): wait for live, sign, connect, relay,
//!   reconnect.
//! - [`decode`], [`capture`]: frames to events; capture files.

#[cfg(feature = "runtime")]
pub mod backoff;
pub mod capture;
#[cfg(feature = "runtime")]
pub mod client;
pub mod decode;
#[cfg(feature = "runtime")]
pub mod error;
#[cfg(feature = "runtime")]
pub mod gifts;
#[cfg(feature = "runtime")]
pub mod http;
#[cfg(feature = "runtime")]
pub mod preset;
#[cfg(feature = "runtime")]
pub mod profile;
#[cfg(feature = "runtime")]
pub mod proxy;
#[cfg(feature = "runtime")]
pub mod room;
#[cfg(feature = "runtime")]
pub mod session;
#[cfg(feature = "runtime")]
pub mod settings;
#[cfg(feature = "runtime")]
pub mod signer;
#[cfg(feature = "runtime")]
pub mod socket_url;
#[cfg(feature = "runtime")]
pub mod stats;
#[cfg(feature = "runtime")]
pub mod status;
#[cfg(feature = "runtime")]
pub mod wire;

#[cfg(feature = "runtime")]
pub use client::{TikTokSource, run};
#[cfg(feature = "runtime")]
pub use error::{LookupError, SessionError, SignerError, SourceError};
#[cfg(feature = "runtime")]
pub use gifts::{CatalogueGift, GiftCatalogue};
#[cfg(feature = "runtime")]
pub use profile::Profile;
#[cfg(feature = "runtime")]
pub use settings::TikTokSettings;
#[cfg(feature = "runtime")]
pub use signer::{EulerSigner, SignRequest, SignedFetch, Signer, SignerBudget};
#[cfg(feature = "runtime")]
pub use stats::{SourceStats, SourceStatsSnapshot};
#[cfg(feature = "runtime")]
pub use status::{SourceItem, Status};
