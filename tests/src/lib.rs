//! Support code shared by hush integration tests.
pub mod standins;
