//! Rebuilds whatever embeds `migrations/` when a file is added or removed
//! (editing a file is tracked by the `include_str!` the macro emits).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=migrations/versions");
}
