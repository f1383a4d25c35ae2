//! MessageVortex over ordinary e-mail (seed 004 §2.1, draft-gwerder-messagevortexmain-10 §6):
//! blending vortex messages into mail that looks ordinary, finding them again in incoming
//! mail, and the transports (SMTP out, IMAP IDLE or a Maildir in) a node daemon runs on.
//!
//! The core (blending, carriers, unblending) is pure: bytes in, bytes out. The transports are
//! thin I/O shells around it. Decisions where the draft is silent or inconsistent are in
//! docs/VORTEX.md (D-41 onwards).
#![forbid(unsafe_code)]

pub mod carrier;
pub mod daemon;
pub mod error;
pub mod f5;
pub mod gateway;
pub mod imap;
pub mod localnet;
pub mod maildir;
pub mod plain;
pub mod smtp;
pub mod smtpd;
pub mod station;
pub mod unblend;

pub use error::{Error, Result};
