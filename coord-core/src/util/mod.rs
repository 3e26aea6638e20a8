//! What several concepts share, one home each: the poison-tolerant lock,
//! the future that turns a panic into an error, wall-clock conversions,
//! backoff delays, a stderr write that never panics, and hashing for
//! `TypeId` keys.
//!
//! May use: std and tokio only; every other module may use this one.

mod backoff;
mod clock;
mod lock;
mod stderr;
mod type_id_hash;
mod unwind;

pub(crate) use backoff::backoff_delay;
pub(crate) use clock::{Millis, now_ms, system_time_ms};
pub(crate) use lock::{lock, read, write};
pub(crate) use stderr::write_stderr;
pub(crate) use type_id_hash::TypeIdHash;
pub(crate) use unwind::{CatchUnwind, join_message};
