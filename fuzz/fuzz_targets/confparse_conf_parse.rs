//! The whole confparse pipeline on arbitrary bytes: preprocessing (includes, parameters,
//! ~SEQ/~LST, conditionals), parsing into the model, whole-configuration checks, rendering of the
//! diagnostics, and printing the model back (and reading the printed form again).
//!
//! The input is split at 0xff bytes (never valid UTF-8) into a main file and up to two files it can include
//! (`/f/a.conf`, `/f/b.conf`), all served from memory. Must never panic, and must stay bounded in
//! time and memory whatever the input.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0xff).take(3);
    let mut loader = confparse::MemLoader::new();
    loader.add_bytes("/f/main.conf", parts.next().unwrap_or_default().to_vec());
    loader.add_bytes("/f/a.conf", parts.next().unwrap_or_default().to_vec());
    loader.add_bytes("/f/b.conf", parts.next().unwrap_or_default().to_vec());
    let opts = confparse::Options { config_id: Some("n1"), ..confparse::Options::default() };
    let Ok(parsed) = confparse::parse_with(&loader, Path::new("/f/main.conf"), &opts) else {
        return;
    };
    let _ = parsed.render();
    let printed = confparse::to_conf(&parsed.config);
    let mut again = confparse::MemLoader::new();
    again.add("/p.conf", printed);
    let _ = confparse::parse_with(&again, Path::new("/p.conf"), &confparse::Options::default());
});
