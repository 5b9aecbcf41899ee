//! The reader's browser session (cookie `jieyue_reader`, `Path=/reader`) and its CSRF
//! checked form extractor, built like the console's (`session.rs`).
