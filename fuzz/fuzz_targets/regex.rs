//! Regex text: parsing never panics; what parses compiles or fails
//! cleanly, and a matcher can walk it.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(g) = rein_grammar::regex::parse(src) {
        common::exercise(&g, 8);
    }
});
