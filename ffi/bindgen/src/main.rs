//! `uniffi-bindgen`: generates foreign-language bindings from the built `jieyue-ffi`
//! library (`scripts/bindings` runs it). A crate of its own so building the client
//! library does not build the generator.

fn main() {
    uniffi::uniffi_bindgen_main()
}
