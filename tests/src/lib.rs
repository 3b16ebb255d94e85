//! Support code shared by hush integration tests.
