//! Token pools and pacing (SPEC §13).
pub mod limit;
pub mod pacer;
