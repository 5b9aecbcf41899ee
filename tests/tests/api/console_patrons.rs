//! The console's pages, driven over HTTP as a browser would.
