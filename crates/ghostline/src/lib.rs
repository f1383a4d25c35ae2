//! # GhostLine — one-time-pad group chat with information-theoretic authentication
//!
//! Implements seed 002 ("GhostLine") with its intent kept and its flaws fixed (see
//! `docs/GHOSTLINE.md`). Layers, bottom-up:
//!
//! * pure core: [`mac`] (polynomial MAC over GF(2^256 − 189)), [`pad`] (pad ids, regions),
//!   [`message`] (sealed message codec, seal/open), [`channel`] (send reservation, receive
//!   high-water marks), [`frame`] (relay wire protocol);
//! * shells: [`store`] (pad and state files, crash-safe reservation), [`relay`] (tokio relay with
//!   presence), [`client`] (relay client), [`cli`], [`tui`] and [`mod@bench`] (the `tabella`
//!   subcommands).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bench;
pub mod channel;
pub mod cli;
pub mod client;
pub mod error;
pub mod frame;
pub mod mac;
pub mod message;
pub mod pad;
pub mod relay;
pub mod store;
pub mod tui;

pub use error::{Error, Result};
