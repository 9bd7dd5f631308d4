//! A redirect-following HTTP client on hyper, and a tower layer, driven by `seeother_core::follow`.
