#![doc = include_str!("../README.md")]

// The exported scaffolding (`extern "C"` functions) is in the core's `ffi` module; this
// re-export links the core into the library so every symbol is there.
pub use jieyue_client_core::ffi::*;
